import { Head, ErrorText } from "../components/Head";
import { useEffect, useMemo, useState } from "preact/hooks";
import {
  appAPI,
  canI,
  del,
  fluxAPI,
  get,
  post,
  settings,
  type FluxDiffItem,
  type KubeEvent,
  type ManagedResource,
  type TreeNode,
} from "../api";
import { Diff } from "../components/Diff";
import { Events } from "../components/Events";
import { Progress, useProgress } from "../components/Progress";
import { ago, Badge, Rev, shortRev } from "../components/Status";
import { Tree } from "../components/Tree";
import { toYAML } from "../lib/diff";
import { buildTree, healthCounts, nodeKey, type TreeItem } from "../lib/tree";
import { onLink } from "../router";

/** desiredYAML is what a sync would leave in the cluster: the API
 * server's dry run of the desired object (defaults filled in, as the live
 * one has them), else the desired object as rendered. */
function desiredYAML(r: ManagedResource): string {
  return toYAML(r.predictedLiveState || r.targetState);
}

/** AppDetails is one app's page: an Application, or a Flux Kustomization
 * or HelmRelease. */
export function AppDetails(p: { kind: string; namespace: string; name: string }) {
  return p.kind === "Application" ? <ApplicationView {...p} /> : <FluxView {...p} />;
}

/** usePoll reads load() now and every interval while the page is shown. */
function usePoll<T>(load: () => Promise<T>, interval: number, deps: unknown[]): [T | undefined, string, () => void] {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stop = false;
    const run = () =>
      load()
        .then((v) => {
          if (!stop) {
            setValue(v);
            setError("");
          }
        })
        .catch((e) => !stop && setError(e.message));
    run();
    const t = setInterval(() => document.visibilityState === "visible" && run(), interval);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [...deps, tick]);
  return [value, error, () => setTick((n) => n + 1)];
}

/** useAction runs a user's action, shows that it was requested or why it
 * failed, and reloads the page's data after it. */
function useAction(reload: () => void) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState("");
  const run = async (what: string, f: () => Promise<unknown>) => {
    setBusy(true);
    setMessage("");
    try {
      await f();
      setMessage(`${what}: requested`);
      reload();
    } catch (e) {
      setMessage(`${what}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return { busy, message, run };
}

/** LiveManifest shows an object's live state as the API reads it
 * (Secrets masked by the server). */
function LiveManifest({ url }: { url: string }) {
  const [text, setText] = useState<string>();
  const [error, setError] = useState("");
  useEffect(() => {
    get<unknown>(url)
      .then((o) => setText(toYAML(JSON.stringify(o))))
      .catch((e) => setError(e.message));
  }, [url]);
  if (error) return <p class="muted">{error}</p>;
  return <pre class="manifest">{text ?? "Loading…"}</pre>;
}

/** FluxDiff shows what reconciling a Kustomization now would do, from
 * its source's revision and a dry run, or a HelmRelease's drift from its
 * last release (asked once per visit of the tab, and again on Refresh:
 * each is a render or a read, and a dry run). */
function FluxDiff({ url, kind }: { url: string; kind: string }) {
  const [diff, setDiff] = useState<{ revision: string; items: FluxDiffItem[] }>();
  const [error, setError] = useState("");
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    setError("");
    get<{ revision: string; items: FluxDiffItem[] }>(url)
      .then(setDiff)
      .catch((e) => setError(e.message));
  }, [url, asked]);
  const changed = (diff?.items ?? []).filter((it) => it.action !== "unchanged");
  return (
    <div class="flux-diff">
      <p>
        <button data-action="refresh-diff" onClick={() => setAsked(asked + 1)}>Refresh diff</button>{" "}
        {diff ? (
          <span class="muted">
            {kind === "HelmRelease" ? `release ${diff.revision}` : <Rev rev={diff.revision} />}: {changed.length} of {diff.items.length} objects
            {kind === "HelmRelease" ? " differ from the release" : " would change"}
          </span>
        ) : null}
      </p>
      {error ? <ErrorText message={error} /> : null}
      {!diff && !error ? <p class="loading">Rendering and comparing…</p> : null}
      {diff && changed.length === 0 ? <p class="muted">Everything is as Git says.</p> : null}
      {changed.map((it) => (
        <section key={`${it.kind}/${it.namespace}/${it.name}`} class="diff-item" data-object={`${it.kind}/${it.name}`} data-action={it.action}>
          <h3>
            {it.kind} {it.namespace ? `${it.namespace}/` : ""}
            {it.name} <span class={`badge ${it.action === "deleted" ? "bad" : "warn"}`}>{it.action}</span>
          </h3>
          {it.action === "configured" ? <Diff live={toYAML(it.liveState)} desired={toYAML(it.predictedLiveState)} /> : null}
          {it.action === "created" ? (
            <p class="muted">{kind === "HelmRelease" ? "Missing from the cluster: a drift correction puts it back." : "Not in the cluster: reconciling creates it."}</p>
          ) : null}
          {it.action === "deleted" ? <p class="muted">No longer in Git: reconciling deletes it (the Kustomization prunes).</p> : null}
        </section>
      ))}
    </div>
  );
}

function Crumbs({ kind }: { kind: string }) {
  return (
    <p class="crumbs">
      <a href="/" onClick={onLink}>
        Apps
      </a>{" "}
      / {kind}
    </p>
  );
}

function Tabs({ tabs, current, onChange }: { tabs: string[]; current: string; onChange: (t: string) => void }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map((t) => (
        <button key={t} role="tab" aria-selected={t === current} class={t === current ? "on" : ""} onClick={() => onChange(t)}>
          {t}
        </button>
      ))}
    </div>
  );
}

function Field({ label, children }: { label: string; children: any }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{children || <span class="muted">—</span>}</dd>
    </div>
  );
}

/** A button shown disabled, with the reason, when RBAC does not allow it;
 * the API refuses the request anyway. */
function ActionButton(props: { allowed: boolean; label: string; onClick: () => void; busy?: boolean; primary?: boolean; name?: string }) {
  return (
    <button
      class={props.primary ? "primary" : ""}
      data-action={props.name ?? props.label}
      disabled={!props.allowed || props.busy}
      title={props.allowed ? undefined : "Your role does not allow this"}
      onClick={props.onClick}
    >
      {props.label}
    </button>
  );
}

function ApplicationView({ namespace, name }: { namespace: string; name: string }) {
  const [app, error, reload] = usePoll<any>(() => get(appAPI(namespace, name)), 2000, [namespace, name]);
  const rv = app?.status ? JSON.stringify([app.status.sync, app.status.health, app.status.reconciledAt, app.status.operationState?.phase]) : "";
  const [tree] = usePoll<{ nodes: TreeNode[] }>(() => get(appAPI(namespace, name, "/resource-tree")), 5000, [namespace, name, rv]);
  const [managed] = usePoll<{ items: ManagedResource[] }>(() => get(appAPI(namespace, name, "/managed-resources")), 5000, [namespace, name, rv]);
  const [events] = usePoll<{ items: KubeEvent[] }>(() => get(appAPI(namespace, name, "/events")), 5000, [namespace, name]);
  const progress = useProgress(`Application/${namespace}/${name}`);
  const [tab, setTab] = useState("Tree");
  const [selected, setSelected] = useState<TreeItem>();
  const [can, setCan] = useState({ sync: false, get: false });
  const { busy, message, run: act } = useAction(reload);
  const [prune, setPrune] = useState(false);
  const [dryRun, setDryRun] = useState(false);
  const project = app?.spec?.project || "default";

  useEffect(() => {
    if (!app) return;
    settings()
      .then(async (s) => {
        const object = namespace === s.controllerNamespace ? `${project}/${name}` : `${project}/${namespace}/${name}`;
        setCan({ sync: await canI("applications", "sync", object), get: true });
      })
      .catch(() => {});
  }, [!!app, project]);

  // Objects Git has and the cluster does not are shown too, as Missing.
  const items = useMemo(() => {
    const nodes = [...(tree?.nodes ?? [])];
    const live = new Set(nodes.map(nodeKey));
    for (const r of managed?.items ?? [])
      if (!r.liveState && !live.has(nodeKey(r))) nodes.push({ group: r.group, kind: r.kind, namespace: r.namespace, name: r.name, health: { status: "Missing" } });
    return buildTree(nodes);
  }, [tree, managed]);
  const modified = useMemo(() => {
    const m = new Set<string>();
    const byKey = new Map((tree?.nodes ?? []).map((n) => [nodeKey(n), n.uid || nodeKey(n)]));
    for (const r of managed?.items ?? []) if (r.modified) m.add(byKey.get(nodeKey(r)) ?? nodeKey(r));
    return m;
  }, [tree, managed]);
  if (error && !app) return <ErrorText message={error} />;
  if (!app) return <p class="loading">Loading…</p>;
  const st = app.status ?? {};
  const op = st.operationState;
  const src = app.spec.source ?? app.spec.sources?.[0] ?? {};
  const running = op?.phase === "Running" || op?.phase === "Terminating";
  const counts = healthCounts(items);
  const outOfSync = (managed?.items ?? []).filter((r) => r.modified);
  const selectedResource = selected && (managed?.items ?? []).find((r) => nodeKey(r) === nodeKey(selected.node));
  return (
    <div class="details">
      <Crumbs kind={"Application"} />
      <h1>
        {name} <Badge status={st.sync?.status} label="sync" /> <Badge status={st.health?.status} label="health" />
        {op ? <Badge status={op.phase} label="last operation" /> : null}
      </h1>
      {st.health?.message ? <p class="message">{st.health.message}</p> : null}
      {(st.conditions ?? []).map((c: any) => (
        <p key={c.type} class="error" role="status">
          {c.type}: {c.message}
        </p>
      ))}
      <dl class="fields">
        <Field label="Project">{project}</Field>
        <Field label="Namespace">{namespace}</Field>
        <Field label="Repository">{src.repoURL}</Field>
        <Field label="Path / chart">{src.path || src.chart}</Field>
        <Field label="Target revision">{src.targetRevision || "HEAD"}</Field>
        <Field label="Revision">
          <Rev rev={st.sync?.revision} />
        </Field>
        <Field label="Destination">
          {app.spec.destination?.name || app.spec.destination?.server} {app.spec.destination?.namespace ? `/ ${app.spec.destination.namespace}` : ""}
        </Field>
        <Field label="Objects">
          {Object.entries(counts)
            .map(([k, v]) => `${v} ${k}`)
            .join(", ")}
        </Field>
      </dl>
      <div class="actions">
        <fieldset class="sync-options">
          <legend class="sr-only">Sync options</legend>
          <label>
            <input type="checkbox" name="prune" checked={prune} onChange={() => setPrune(!prune)} /> Prune
          </label>
          <label>
            <input type="checkbox" name="dryRun" checked={dryRun} onChange={() => setDryRun(!dryRun)} /> Dry run
          </label>
        </fieldset>
        <ActionButton
          primary
          name="sync"
          allowed={can.sync && !running}
          busy={busy}
          label="Sync"
          onClick={() => act("Sync", () => post(appAPI(namespace, name, "/sync"), { prune, dryRun }))}
        />
        <ActionButton name="refresh" allowed={can.get} busy={busy} label="Refresh" onClick={() => act("Refresh", () => get(appAPI(namespace, name) + "&refresh=normal"))} />
        <ActionButton name="hard-refresh" allowed={can.get} busy={busy} label="Hard refresh" onClick={() => act("Hard refresh", () => get(appAPI(namespace, name) + "&refresh=hard"))} />
        {running ? <ActionButton name="terminate" allowed={can.sync} busy={busy} label="Terminate" onClick={() => act("Terminate", () => del(appAPI(namespace, name, "/operation")))} /> : null}
        {message ? (
          <span class="note" role="status">
            {message}
          </span>
        ) : null}
      </div>
      <Tabs tabs={["Tree", `Diff (${outOfSync.length})`, "Sync", "History", "Events"]} current={tab.startsWith("Diff") ? `Diff (${outOfSync.length})` : tab} onChange={setTab} />
      {tab === "Tree" ? (
        <div class="split">
          <Tree items={items} modified={modified} selected={selected?.id} onSelect={setSelected} />
          {selected ? (
            <aside class="panel" aria-label={`${selected.node.kind} ${selected.node.name}`}>
              <h3>
                {selected.node.kind} {selected.node.name}
              </h3>
              {selected.node.health?.message ? <p class="message">{selected.node.health.message}</p> : null}
              {selectedResource ? (
                <>
                  <h4>Diff (live → desired)</h4>
                  <Diff live={toYAML(selectedResource.liveState)} desired={desiredYAML(selectedResource)} />
                  <h4>Live manifest</h4>
                  <pre class="manifest">{toYAML(selectedResource.liveState) || "(not in the cluster)"}</pre>
                </>
              ) : (
                <p class="muted">Owned by another object of the app: not compared with Git.</p>
              )}
            </aside>
          ) : null}
        </div>
      ) : null}
      {tab.startsWith("Diff") ? (
        outOfSync.length === 0 ? (
          <p class="muted">Everything is as Git says.</p>
        ) : (
          outOfSync.map((r) => (
            <section key={nodeKey(r)} class="diff-item" data-object={`${r.kind}/${r.name}`}>
              <h3>
                {r.kind} {r.namespace ? `${r.namespace}/` : ""}
                {r.name}
              </h3>
              {r.error ? <p class="error">{r.error}</p> : null}
              <Diff live={toYAML(r.liveState)} desired={desiredYAML(r)} />
            </section>
          ))
        )
      ) : null}
      {tab === "Sync" ? (
        <>
          <Progress events={progress} />
          {op ? <OperationResult op={op} /> : null}
        </>
      ) : null}
      {tab === "History" ? (
        <History
          history={st.history ?? []}
          current={st.sync?.revision}
          canRollback={can.sync && !running}
          onRollback={(id) => act("Rollback", () => post(appAPI(namespace, name, "/rollback"), { id }))}
        />
      ) : null}
      {tab === "Events" ? <Events events={events?.items ?? []} /> : null}
    </div>
  );
}

function OperationResult({ op }: { op: any }) {
  const res = op.syncResult?.resources ?? [];
  return (
    <section class="operation">
      <h3>
        Last operation <Badge status={op.phase} label="operation" />
      </h3>
      <p>
        {op.message} <span class="muted">started {ago(op.startedAt)}</span>
      </p>
      {res.length ? (
        <table>
          <Head cols={["Phase", "Object", "Result", "Message"]} />
          <tbody>
            {res.map((r: any, i: number) => (
              <tr key={i}>
                <td>
                  {r.syncPhase || "Sync"} {r.hookType ? `(hook)` : ""}
                </td>
                <td>
                  {r.kind} {r.namespace ? `${r.namespace}/` : ""}
                  {r.name}
                </td>
                <td>
                  <Badge status={r.hookPhase || (r.status === "Synced" ? "Succeeded" : r.status)} label="result" />
                </td>
                <td class="message">{r.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function History(props: { history: any[]; current?: string; canRollback: boolean; onRollback: (id: number) => void }) {
  const [confirm, setConfirm] = useState<number>();
  if (props.history.length === 0) return <p class="muted">No syncs yet.</p>;
  return (
    <table class="history">
      <thead>
        <tr>
          <th scope="col">ID</th>
          <th scope="col">Revision</th>
          <th scope="col">Deployed</th>
          <th scope="col">
            <span class="sr-only">Action</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {[...props.history].reverse().map((h, i) => (
          <tr key={h.id} data-history={h.id}>
            <td>{h.id}</td>
            <td class="mono" title={h.revision}>
              {shortRev(h.revision)}
            </td>
            <td title={h.deployedAt}>{ago(h.deployedAt)}</td>
            <td>
              {i === 0 ? (
                <span class="muted">current</span>
              ) : confirm === h.id ? (
                <>
                  <button class="primary" data-action="confirm-rollback" onClick={() => (props.onRollback(h.id), setConfirm(undefined))}>
                    Roll back to {h.id}
                  </button>{" "}
                  <button onClick={() => setConfirm(undefined)}>Cancel</button>
                </>
              ) : (
                <button data-action="rollback" disabled={!props.canRollback} title={props.canRollback ? undefined : "Your role does not allow this"} onClick={() => setConfirm(h.id)}>
                  Rollback
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FluxView({ kind, namespace, name }: { kind: string; namespace: string; name: string }) {
  const [obj, error, reload] = usePoll<any>(() => get(fluxAPI(kind, namespace, name)), 2000, [kind, namespace, name]);
  const rv = obj?.status ? JSON.stringify([obj.status.conditions, obj.status.lastAppliedRevision]) : "";
  const [tree] = usePoll<{ nodes: TreeNode[] }>(() => get(fluxAPI(kind, namespace, name, "/tree")), 5000, [kind, namespace, name, rv]);
  const [events] = usePoll<{ items: KubeEvent[] }>(() => get(fluxAPI(kind, namespace, name, "/events")), 5000, [kind, namespace, name]);
  const progress = useProgress(`${kind}/${namespace}/${name}`);
  const [tab, setTab] = useState("Tree");
  const [selected, setSelected] = useState<TreeItem>();
  const [can, setCan] = useState({ sync: false, update: false });
  const { busy, message, run } = useAction(reload);
  const resource = kind === "Kustomization" ? "kustomizations" : "helmreleases";
  useEffect(() => {
    (async () => setCan({ sync: await canI(resource, "sync", `${namespace}/${name}`), update: await canI(resource, "update", `${namespace}/${name}`) }))();
  }, [kind, namespace, name]);
  const items = useMemo(() => buildTree(tree?.nodes ?? []), [tree]);
  if (error && !obj) return <ErrorText message={error} />;
  if (!obj) return <p class="loading">Loading…</p>;
  const ready = (obj.status?.conditions ?? []).find((c: any) => c.type === "Ready");
  const ref = kind === "Kustomization" ? obj.spec.sourceRef : (obj.spec.chartRef ?? obj.spec.chart?.spec?.sourceRef);
  const sourceKey = ref ? `${ref.kind}/${ref.namespace || namespace}/${ref.name}` : "";
  const act = (what: string) => run(what, () => post(fluxAPI(kind, namespace, name, `/${what}`)));
  const linkOf = (it: TreeItem) =>
    it.node.kind === "Kustomization" || it.node.kind === "HelmRelease"
      ? `/apps/${it.node.kind}/${encodeURIComponent(it.node.namespace ?? "")}/${encodeURIComponent(it.node.name)}`
      : undefined;
  return (
    <div class="details">
      <Crumbs kind={kind} />
      <h1>
        {name} <Badge status={ready?.status === "True" ? "Healthy" : ready?.status === "False" ? "Degraded" : "Progressing"} label="ready" />
        {obj.spec.suspend ? <Badge status="Suspended" label="suspended" /> : null}
      </h1>
      {ready ? (
        <p class="message">
          {ready.reason}: {ready.message}
        </p>
      ) : null}
      <dl class="fields">
        <Field label="Namespace">{namespace}</Field>
        <Field label="Source">
          {sourceKey ? (
            <a href={`/sources#${sourceKey}`} onClick={onLink} data-source={sourceKey}>
              {sourceKey}
            </a>
          ) : null}
        </Field>
        <Field label={kind === "Kustomization" ? "Path" : "Chart"}>{kind === "Kustomization" ? obj.spec.path || "./" : obj.spec.chart?.spec?.chart}</Field>
        <Field label="Applied revision">
          <Rev rev={obj.status?.lastAppliedRevision} />
        </Field>
        <Field label="Attempted revision">
          <Rev rev={obj.status?.lastAttemptedRevision} />
        </Field>
        <Field label="Interval">{obj.spec.interval}</Field>
        <Field label="Cluster">{obj.spec.kubeConfig?.secretRef?.name ?? "in-cluster"}</Field>
        <Field label="Last change">{ago(ready?.lastTransitionTime)}</Field>
      </dl>
      <div class="actions">
        <ActionButton primary name="reconcile" allowed={can.sync} busy={busy} label="Reconcile" onClick={() => act("reconcile")} />
        {obj.spec.suspend ? (
          <ActionButton name="resume" allowed={can.update} busy={busy} label="Resume" onClick={() => act("resume")} />
        ) : (
          <ActionButton name="suspend" allowed={can.update} busy={busy} label="Suspend" onClick={() => act("suspend")} />
        )}
        {message ? (
          <span class="note" role="status">
            {message}
          </span>
        ) : null}
      </div>
      <Tabs tabs={["Tree", "Diff", "Conditions", "Sync", "Events"]} current={tab} onChange={setTab} />
      {tab === "Tree" ? (
        <div class="split">
          <Tree items={items} selected={selected?.id} onSelect={setSelected} linkOf={linkOf} />
          {selected ? (
            <aside class="panel" aria-label={`${selected.node.kind} ${selected.node.name}`}>
              <h3>
                {selected.node.kind} {selected.node.name}
              </h3>
              <p>
                <Badge status={selected.node.health?.status} label="health" /> {selected.node.health?.message}
              </p>
              <p class="muted">
                {selected.node.group ? `${selected.node.group}/` : ""}
                {selected.node.version} {selected.node.namespace ? `in ${selected.node.namespace}` : "(cluster-wide)"}
              </p>
              <h4>Live manifest</h4>
              <LiveManifest
                key={selected.id}
                url={fluxAPI(kind, namespace, name, "/resource") +
                  "?" +
                  new URLSearchParams({ group: selected.node.group ?? "", version: selected.node.version ?? "", kind: selected.node.kind, namespace: selected.node.namespace ?? "", name: selected.node.name })}
              />
            </aside>
          ) : null}
        </div>
      ) : null}
      {tab === "Diff" ? <FluxDiff kind={kind} url={fluxAPI(kind, namespace, name, "/diff")} /> : null}
      {tab === "Conditions" ? (
        <table>
          <Head cols={["Type", "Status", "Reason", "Message", "Changed"]} />
          <tbody>
            {(obj.status?.conditions ?? []).map((c: any) => (
              <tr key={c.type}>
                <td>{c.type}</td>
                <td>
                  <Badge status={c.status} label={c.type} />
                </td>
                <td>{c.reason}</td>
                <td class="message">{c.message}</td>
                <td>{ago(c.lastTransitionTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {tab === "Sync" ? <Progress events={progress} /> : null}
      {tab === "Events" ? <Events events={events?.items ?? []} /> : null}
    </div>
  );
}
