// Favorites are kept in the browser (localStorage), by row key.

const storeKey = "tether.favorites";

export function loadFavorites(): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(storeKey) ?? "[]"));
  } catch {
    return new Set();
  }
}

export function saveFavorites(f: Set<string>) {
  localStorage.setItem(storeKey, JSON.stringify([...f]));
}
