import { useEffect, useState } from "preact/hooks";
import { login, settings, userInfo, type Settings, type UserInfo } from "../api";
import { navigate } from "../router";

/** Login: a local account's name and password, or the SSO button when the
 * server has an OpenID provider configured. */
export function Login({ onLogin }: { onLogin: (u: UserInfo) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [cfg, setCfg] = useState<Settings>({});
  const ret = new URLSearchParams(location.search).get("return") || "/";
  // Only a path of this site is a place to return to.
  const target = ret.startsWith("/") && !ret.startsWith("//") ? ret : "/";
  useEffect(() => {
    settings().then(setCfg).catch(() => {});
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await login(username, password);
      onLogin(await userInfo());
      navigate(target, true);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>Tether</h1>
      <form onSubmit={submit} aria-describedby={error ? "login-error" : undefined}>
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error ? (
          <p id="login-error" class="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {cfg.oidcConfig ? (
        <p>
          <a class="button" href={`/auth/login?return_url=${encodeURIComponent(location.origin + target)}`}>
            Log in via {cfg.oidcConfig.name || "SSO"}
          </a>
        </p>
      ) : null}
    </main>
  );
}
