import type { TreeNode } from "../api";

/** A node of the tree with its children, each object placed once. */
export interface TreeItem {
  node: TreeNode;
  id: string;
  children: TreeItem[];
}

/** An object's identity when it has no UID (Flux inventories). */
export const nodeKey = (n: { group?: string; kind: string; namespace?: string; name: string }) =>
  `${n.group ?? ""}/${n.kind}/${n.namespace ?? ""}/${n.name}`;

// Kinds a reader expects first: what holds the others.
const kindOrder = [
  "Namespace",
  "GitRepository",
  "OCIRepository",
  "HelmRepository",
  "HelmChart",
  "Kustomization",
  "HelmRelease",
  "CustomResourceDefinition",
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "ConfigMap",
  "Secret",
  "Service",
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ReplicaSet",
  "Job",
  "CronJob",
  "Pod",
];

function rank(kind: string): number {
  const i = kindOrder.indexOf(kind);
  return i < 0 ? kindOrder.length : i;
}

function compare(a: TreeItem, b: TreeItem): number {
  return (
    rank(a.node.kind) - rank(b.node.kind) ||
    a.node.kind.localeCompare(b.node.kind) ||
    (a.node.namespace ?? "").localeCompare(b.node.namespace ?? "") ||
    a.node.name.localeCompare(b.node.name)
  );
}

/**
 * buildTree turns Argo CD's flat list of nodes (children naming their
 * parents by UID, or by kind, namespace and name) into a forest: roots are
 * the nodes without a known parent. A node with several parents is placed
 * under the first; a cycle cannot hide a node (what is left unplaced
 * becomes a root).
 */
export function buildTree(nodes: TreeNode[]): TreeItem[] {
  const items = nodes.map((node) => ({ node, id: node.uid || nodeKey(node), children: [] as TreeItem[] }));
  const byUID = new Map<string, TreeItem>();
  const byKey = new Map<string, TreeItem>();
  for (const it of items) {
    if (it.node.uid) byUID.set(it.node.uid, it);
    byKey.set(nodeKey(it.node), it);
  }
  const parentOf = new Map<TreeItem, TreeItem>();
  for (const it of items) {
    for (const ref of it.node.parentRefs ?? []) {
      const p = (ref.uid && byUID.get(ref.uid)) || byKey.get(nodeKey(ref));
      if (p && p !== it) {
        parentOf.set(it, p);
        break;
      }
    }
  }
  // A parent chain that loops back is cut where it closes.
  for (const it of items) {
    const seen = new Set<TreeItem>([it]);
    let p = parentOf.get(it);
    while (p) {
      if (seen.has(p)) {
        parentOf.delete(it);
        break;
      }
      seen.add(p);
      p = parentOf.get(p);
    }
  }
  const roots: TreeItem[] = [];
  for (const it of items) {
    const p = parentOf.get(it);
    if (p) p.children.push(it);
    else roots.push(it);
  }
  const sort = (list: TreeItem[]) => {
    list.sort(compare);
    list.forEach((i) => sort(i.children));
  };
  sort(roots);
  return roots;
}

/** Counts the nodes of a forest by health status. */
export function healthCounts(items: TreeItem[], into: Record<string, number> = {}): Record<string, number> {
  for (const it of items) {
    const s = it.node.health?.status;
    if (s) into[s] = (into[s] ?? 0) + 1;
    healthCounts(it.children, into);
  }
  return into;
}
