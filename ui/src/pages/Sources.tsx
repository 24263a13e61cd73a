import { ErrorText } from "../components/Head";
import { useEffect, useState } from "preact/hooks";
import { appPath, fluxSegment, get, listApps, type AppRow } from "../api";
import { ago, Badge, shortRev } from "../components/Status";
import { onLink } from "../router";

const sourceKinds = ["GitRepository", "OCIRepository", "HelmRepository", "HelmChart"];

interface Source {
  kind: string;
  metadata: { namespace: string; name: string };
  spec: { url?: string; chart?: string; suspend?: boolean; ref?: Record<string, string> };
  status?: { artifact?: { revision?: string; lastUpdateTime?: string }; conditions?: { type: string; status: string; message?: string }[] };
}

/**
 * Sources lists Flux sources (Git, OCI, Helm repositories and charts) with
 * their revision and the Kustomizations and HelmReleases that use them,
 * and the repositories Applications deploy from with their apps.
 */
export function Sources() {
  const [sources, setSources] = useState<Source[]>([]);
  const [rows, setRows] = useState<AppRow[]>([]);
  const [repos, setRepos] = useState<{ repo: string; name?: string; type?: string; project?: string }[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    Promise.all(sourceKinds.map((k) => get<{ items: Source[] }>(`/api/v1/flux/${fluxSegment[k]}`).then((r) => r.items.map((s) => ({ ...s, kind: k })))))
      .then((lists) => setSources(lists.flat()))
      .catch((e) => setError(e.message));
    listApps({ limit: 100000 })
      .then((p) => setRows(p.items))
      .catch((e) => setError(e.message));
    get<{ items: typeof repos }>("/api/v1/repositories")
      .then((r) => setRepos(r.items ?? []))
      .catch(() => {});
  }, []);
  useEffect(() => {
    if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
  }, [sources.length]);
  const consumers = (key: string) => rows.filter((r) => r.repo === key);
  const appRepos = [...new Set([...repos.map((r) => r.repo), ...rows.filter((r) => r.kind === "Application" && r.repo).map((r) => r.repo!)])].sort();
  return (
    <div>
      <h1>Sources</h1>
      <ErrorText message={error} />
      <h2>Flux sources</h2>
      {sources.length === 0 ? <p class="muted">No Flux sources.</p> : null}
      <ul class="cards">
        {sources.map((s) => {
          const key = `${s.kind}/${s.metadata.namespace}/${s.metadata.name}`;
          const ready = s.status?.conditions?.find((c) => c.type === "Ready");
          const used = consumers(key);
          return (
            <li key={key} id={key} class="card" data-source={key}>
              <h3>
                <span class="kind">{s.kind}</span> {s.metadata.namespace}/{s.metadata.name}{" "}
                <Badge status={s.spec.suspend ? "Suspended" : ready?.status === "True" ? "Healthy" : ready?.status === "False" ? "Degraded" : "Progressing"} label="ready" />
              </h3>
              <p class="mono">{s.spec.url ?? s.spec.chart}</p>
              <p>
                Revision <span class="mono">{shortRev(s.status?.artifact?.revision)}</span> <span class="muted">{ago(s.status?.artifact?.lastUpdateTime)}</span>
              </p>
              {ready?.status === "False" ? <p class="message">{ready.message}</p> : null}
              <p>
                Used by:{" "}
                {used.length === 0 ? (
                  <span class="muted">nothing</span>
                ) : (
                  used.map((r, i) => (
                    <span key={r.kind + r.namespace + r.name}>
                      {i ? ", " : ""}
                      <a href={appPath(r)} onClick={onLink}>
                        {r.kind} {r.namespace}/{r.name}
                      </a>
                    </span>
                  ))
                )}
              </p>
            </li>
          );
        })}
      </ul>
      <h2>Repositories of Applications</h2>
      {appRepos.length === 0 ? <p class="muted">No repositories.</p> : null}
      <ul class="cards">
        {appRepos.map((url) => {
          const used = consumers(url);
          const reg = repos.find((r) => r.repo === url);
          return (
            <li key={url} class="card" data-repo={url}>
              <h3 class="mono">{url}</h3>
              <p class="muted">{reg ? `registered${reg.project ? ` for project ${reg.project}` : ""}${reg.type ? ` (${reg.type})` : ""}` : "not registered (public)"}</p>
              <p>
                Used by:{" "}
                {used.length === 0 ? (
                  <span class="muted">nothing</span>
                ) : (
                  used.map((r, i) => (
                    <span key={r.namespace + r.name}>
                      {i ? ", " : ""}
                      <a href={appPath(r)} onClick={onLink}>
                        {r.name}
                      </a>
                    </span>
                  ))
                )}
              </p>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
