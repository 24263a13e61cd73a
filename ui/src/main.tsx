import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { logout, setUnauthenticatedHandler, userInfo, type UserInfo } from "./api";
import { match, navigate, onLink, useLocation } from "./router";
import { Login } from "./pages/Login";
import { AppList } from "./pages/AppList";
import { AppDetails } from "./pages/AppDetails";
import { Sources } from "./pages/Sources";
import { Clusters } from "./pages/Clusters";
import "./style.css";

function App() {
  const loc = useLocation();
  const [user, setUser] = useState<UserInfo | null>(null);
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      if (location.pathname !== "/login") navigate(`/login?return=${encodeURIComponent(location.pathname + location.search)}`, true);
    });
    userInfo()
      .then((u) => {
        setUser(u);
        if (!u.loggedIn && location.pathname !== "/login")
          navigate(`/login?return=${encodeURIComponent(location.pathname + location.search)}`, true);
      })
      .catch(() => setUser({ loggedIn: false }));
  }, [loc.path === "/login"]);

  if (loc.path === "/login") return <Login onLogin={(u) => setUser(u)} />;
  if (!user) return <p class="loading">Loading…</p>;
  if (!user.loggedIn) return <p class="loading">Redirecting to the login page…</p>;

  let page;
  let params;
  if ((params = match("/apps/:kind/:namespace/:name", loc.path))) page = <AppDetails key={loc.path} kind={params.kind} namespace={params.namespace} name={params.name} />;
  else if (loc.path === "/sources") page = <Sources />;
  else if (loc.path === "/clusters") page = <Clusters />;
  else page = <AppList />;
  const nav = (href: string, label: string) => (
    <a href={href} onClick={onLink} aria-current={loc.path === href || (href === "/" && loc.path.startsWith("/apps")) ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={onLink}>
          Tether
        </a>
        <nav aria-label="Main">
          {nav("/", "Apps")}
          {nav("/sources", "Sources")}
          {nav("/clusters", "Clusters")}
        </nav>
        <span class="user">
          <span class="muted">{user.username}</span>
          <button
            class="link"
            onClick={async () => {
              await logout().catch(() => {});
              setUser({ loggedIn: false });
              navigate("/login");
            }}
          >
            Log out
          </button>
        </span>
      </header>
      <main id="main">{page}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
