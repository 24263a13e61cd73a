import { ErrorText } from "../components/Head";
import { useEffect, useRef, useState } from "preact/hooks";
import { appPath, listApps, rowKey, type AppsPage } from "../api";
import { ago, Badge, shortRev } from "../components/Status";
import { loadFavorites, saveFavorites } from "../lib/favorites";
import { navigate, onLink, useLocation } from "../router";

const pageSize = 50;
const facets: { name: "kind" | "sync" | "health"; label: string; values: string[] }[] = [
  { name: "kind", label: "Kind", values: ["Application", "Kustomization", "HelmRelease"] },
  { name: "sync", label: "Sync", values: ["Synced", "OutOfSync", "Unknown"] },
  { name: "health", label: "Health", values: ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"] },
];

/**
 * AppList is one list of everything Tether deploys. Filters, search and
 * the page live in the address (so a filtered view can be shared), and
 * the server does the filtering and paging: a page of 10,000 apps is
 * one small answer.
 */
export function AppList() {
  const { query } = useLocation();
  const search = query.get("search") ?? "";
  const page = Math.max(0, Number(query.get("page") ?? 0) || 0);
  const onlyFavorites = query.get("favorites") === "1";
  const selected = (name: string) => query.getAll(name);
  const [data, setData] = useState<AppsPage | null>(null);
  const [error, setError] = useState("");
  const [favorites, setFavorites] = useState(loadFavorites);
  const [text, setText] = useState(search);
  const debounce = useRef<number>();

  const update = (change: (q: URLSearchParams) => void) => {
    const q = new URLSearchParams(location.search);
    change(q);
    q.delete("page");
    const s = q.toString();
    navigate(s ? `/?${s}` : "/", true);
  };
  const queryText = query.toString();
  useEffect(() => {
    let stop = false;
    const load = () =>
      listApps({
        search,
        kind: selected("kind"),
        sync: selected("sync"),
        health: selected("health"),
        key: onlyFavorites ? [...favorites, "-"] : undefined,
        offset: page * pageSize,
        limit: pageSize,
      })
        .then((d) => {
          if (!stop) {
            setData(d);
            setError("");
          }
        })
        .catch((e) => !stop && setError(e.message));
    load();
    const timer = setInterval(() => document.visibilityState === "visible" && load(), 5000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [queryText, favorites]);

  const toggleFavorite = (key: string) => {
    const f = new Set(favorites);
    if (f.has(key)) f.delete(key);
    else f.add(key);
    saveFavorites(f);
    setFavorites(f);
  };
  const pages = data ? Math.max(1, Math.ceil(data.total / pageSize)) : 1;
  return (
    <div class="list-page">
      <h1>Apps</h1>
      <div class="filters" role="search">
        <label class="search">
          <span class="sr-only">Search by name, namespace, project or repository</span>
          <input
            type="search"
            placeholder="Search name, namespace, project, repository"
            value={text}
            onInput={(e) => {
              const v = e.currentTarget.value;
              setText(v);
              clearTimeout(debounce.current);
              debounce.current = window.setTimeout(() => update((q) => (v ? q.set("search", v) : q.delete("search"))), 150);
            }}
          />
        </label>
        {facets.map((f) => (
          <fieldset key={f.name} class="facet">
            <legend>{f.label}</legend>
            {f.values.map((v) => {
              const on = selected(f.name).includes(v);
              return (
                <label key={v} class={`chip${on ? " on" : ""}`}>
                  <input
                    type="checkbox"
                    checked={on}
                    onChange={() =>
                      update((q) => {
                        const rest = q.getAll(f.name).filter((x) => x !== v);
                        q.delete(f.name);
                        for (const x of on ? rest : [...rest, v]) q.append(f.name, x);
                      })
                    }
                  />
                  {v} <span class="count">{data?.counts[f.name]?.[v] ?? 0}</span>
                </label>
              );
            })}
          </fieldset>
        ))}
        <label class={`chip${onlyFavorites ? " on" : ""}`}>
          <input type="checkbox" checked={onlyFavorites} onChange={() => update((q) => (onlyFavorites ? q.delete("favorites") : q.set("favorites", "1")))} />★ Favorites
        </label>
      </div>
      <ErrorText message={error} />
      {!data ? (
        <p class="loading">Loading…</p>
      ) : (
        <>
          <p class="muted" aria-live="polite">
            {data.total} {data.total === 1 ? "app" : "apps"}
          </p>
          <table class="apps">
            <thead>
              <tr>
                <th scope="col">
                  <span class="sr-only">Favorite</span>
                </th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Kind</th>
                <th scope="col">Project / namespace</th>
                <th scope="col">Cluster</th>
                <th scope="col">Source</th>
                <th scope="col">Revision</th>
                <th scope="col">Changed</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((r) => {
                const key = rowKey(r);
                const fav = favorites.has(key);
                return (
                  <tr key={key} data-app={key}>
                    <td class="fav">
                      <button class={`star${fav ? " on" : ""}`} aria-pressed={fav} aria-label={`Favorite ${r.name}`} onClick={() => toggleFavorite(key)}>
                        {fav ? "★" : "☆"}
                      </button>
                    </td>
                    <td class="name">
                      <a href={appPath(r)} onClick={onLink}>
                        {r.name}
                      </a>
                      {r.message && r.health !== "Healthy" ? <div class="message">{r.message}</div> : null}
                    </td>
                    <td class="status">
                      <Badge status={r.sync} label="sync" /> <Badge status={r.health} label="health" />
                      {r.operation === "Running" ? <Badge status="Running" label="operation" /> : null}
                    </td>
                    <td data-label="Kind">{r.kind}</td>
                    <td data-label={r.project ? "Project" : "Namespace"}>{r.project ? `${r.project} · ${r.namespace}` : r.namespace}</td>
                    <td data-label="Cluster">{r.cluster}</td>
                    <td data-label="Source" class="source">
                      {r.repo}
                      {r.path ? <span class="muted"> {r.path}</span> : null}
                    </td>
                    <td data-label="Revision" class="mono" title={r.revision}>
                      {shortRev(r.revision)}
                    </td>
                    <td data-label="Changed" title={r.changed}>
                      {ago(r.changed)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {pages > 1 ? (
            <nav class="pager" aria-label="Pages">
              <button disabled={page === 0} onClick={() => goPage(page - 1)}>
                ← Previous
              </button>
              <span>
                Page {page + 1} of {pages}
              </span>
              <button disabled={page + 1 >= pages} onClick={() => goPage(page + 1)}>
                Next →
              </button>
            </nav>
          ) : null}
        </>
      )}
    </div>
  );
}

function goPage(n: number) {
  const q = new URLSearchParams(location.search);
  if (n > 0) q.set("page", String(n));
  else q.delete("page");
  navigate(`/?${q}`);
}
