// The API server's endpoints the UI uses. Every call sends the session
// cookie; a 401 sends the user to the login page.

export class APIError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthenticated: () => void = () => {};

/** Sets what happens when the session is missing or has expired. */
export function setUnauthenticatedHandler(f: () => void) {
  onUnauthenticated = f;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    if (res.status === 401) onUnauthenticated();
    throw new APIError(res.status, data?.message ?? data?.error ?? `${res.status} ${res.statusText}`);
  }
  return data as T;
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown = {}) => call<T>("POST", path, body);
export const del = <T>(path: string) => call<T>("DELETE", path);

export type Kind = "Application" | "Kustomization" | "HelmRelease";

/** One row of GET /api/v1/apps. */
export interface AppRow {
  kind: Kind;
  namespace: string;
  name: string;
  project?: string;
  cluster: string;
  repo?: string;
  path?: string;
  revision?: string;
  sync: string;
  health: string;
  ready?: string;
  message?: string;
  suspended?: boolean;
  operation?: string;
  changed?: string;
}

export interface AppsPage {
  items: AppRow[];
  total: number;
  counts: Record<string, Record<string, number>>;
}

export interface AppsQuery {
  search?: string;
  kind?: string[];
  sync?: string[];
  health?: string[];
  key?: string[];
  offset?: number;
  limit?: number;
}

export function listApps(q: AppsQuery): Promise<AppsPage> {
  const p = new URLSearchParams();
  if (q.search) p.set("search", q.search);
  for (const k of ["kind", "sync", "health", "key"] as const) for (const v of q[k] ?? []) p.append(k, v);
  if (q.offset) p.set("offset", String(q.offset));
  if (q.limit) p.set("limit", String(q.limit));
  return get<AppsPage>(`/api/v1/apps?${p}`);
}

export const rowKey = (r: { kind: string; namespace: string; name: string }) => `${r.kind}/${r.namespace}/${r.name}`;

/** The UI's own path of an app's page. */
export const appPath = (r: { kind: string; namespace: string; name: string }) =>
  `/apps/${encodeURIComponent(r.kind)}/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}`;

export interface UserInfo {
  loggedIn: boolean;
  username?: string;
  groups?: string[];
}

export interface Settings {
  url?: string;
  oidcConfig?: { name?: string; issuer?: string } | null;
  dexConfig?: unknown;
  controllerNamespace?: string;
}

export const login = (username: string, password: string) => post<{ token: string }>("/api/v1/session", { username, password });
export const logout = () => del<unknown>("/api/v1/session");
export const userInfo = () => get<UserInfo>("/api/v1/session/userinfo");
export const settings = () => get<Settings>("/api/v1/settings");

/** Whether the caller may take action on an object, as Argo CD's RBAC says. */
export async function canI(resource: string, action: string, object: string): Promise<boolean> {
  try {
    const r = await get<{ value: string }>(`/api/v1/account/can-i/${resource}/${action}/${object}`);
    return r.value === "yes";
  } catch {
    return false;
  }
}

/** A node of a resource tree, in Argo CD's shape. */
export interface TreeNode {
  group?: string;
  version?: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  parentRefs?: { group?: string; kind: string; namespace?: string; name: string; uid?: string }[];
  health?: { status?: string; message?: string };
  createdAt?: string;
}

export interface ManagedResource {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  targetState?: string;
  liveState?: string;
  predictedLiveState?: string;
  modified: boolean;
  error?: string;
}

/** FluxDiffItem is one object of a Kustomization's diff: what
 * reconciling now would do to it ("created", "configured", "unchanged",
 * "deleted"); a configured one has both states, as JSON. */
export interface FluxDiffItem {
  group?: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  action: string;
  liveState?: string;
  predictedLiveState?: string;
}

export interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string;
  eventTime?: string;
  metadata?: { creationTimestamp?: string; name?: string };
}

export interface ProgressEvent {
  time: string;
  app: string;
  object?: { Group: string; Version: string; Kind: string; Namespace: string; Name: string };
  phase?: string;
  wave: number;
  action: string;
  result: string;
  message?: string;
}

/** The path of an Application's endpoint. */
export const appAPI = (namespace: string, name: string, rest = "") =>
  `/api/v1/applications/${encodeURIComponent(name)}${rest}?appNamespace=${encodeURIComponent(namespace)}`;

/** The path segment of a Flux kind under /api/v1/flux. */
export const fluxSegment: Record<string, string> = {
  Kustomization: "kustomizations",
  HelmRelease: "helmreleases",
  GitRepository: "gitrepositories",
  HelmRepository: "helmrepositories",
  HelmChart: "helmcharts",
  OCIRepository: "ocirepositories",
};

export const fluxAPI = (kind: string, namespace: string, name: string, rest = "") =>
  `/api/v1/flux/${fluxSegment[kind]}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}${rest}`;
