import { describe, expect, it } from "vitest";
import { buildTree, healthCounts, type TreeItem } from "./tree";
import type { TreeNode } from "../api";

const names = (items: TreeItem[]): unknown => items.map((i) => (i.children.length ? { [i.node.name]: names(i.children) } : i.node.name));

describe("buildTree", () => {
  it("nests Deployment -> ReplicaSet -> Pod by owner UID, roots first by kind", () => {
    const nodes: TreeNode[] = [
      { kind: "Pod", name: "web-1-a", uid: "p1", parentRefs: [{ kind: "ReplicaSet", name: "web-1", uid: "rs1" }], health: { status: "Healthy" } },
      { kind: "ReplicaSet", name: "web-1", uid: "rs1", parentRefs: [{ kind: "Deployment", name: "web", uid: "d1" }], health: { status: "Healthy" } },
      { kind: "Deployment", name: "web", uid: "d1", health: { status: "Progressing" } },
      { kind: "Service", name: "web", uid: "s1", health: { status: "Healthy" } },
      { kind: "ConfigMap", name: "settings", uid: "c1" },
    ];
    const tree = buildTree(nodes);
    expect(names(tree)).toEqual(["settings", "web", { web: [{ "web-1": ["web-1-a"] }] }]);
    expect(tree.map((t) => t.node.kind)).toEqual(["ConfigMap", "Service", "Deployment"]);
    expect(healthCounts(tree)).toEqual({ Healthy: 3, Progressing: 1 });
  });

  it("nests a Flux inventory by kind, namespace and name when there are no UIDs", () => {
    const nodes: TreeNode[] = [
      { kind: "Kustomization", namespace: "flux-system", name: "apps" },
      { kind: "HelmRelease", namespace: "podinfo", name: "podinfo", parentRefs: [{ kind: "Kustomization", namespace: "flux-system", name: "apps" }] },
      { kind: "Deployment", group: "apps", namespace: "podinfo", name: "podinfo", parentRefs: [{ kind: "HelmRelease", namespace: "podinfo", name: "podinfo" }] },
    ];
    expect(names(buildTree(nodes))).toEqual([{ apps: [{ podinfo: ["podinfo"] }] }]);
  });

  it("places every node once, even when parents loop or are unknown", () => {
    const nodes: TreeNode[] = [
      { kind: "A", name: "a", uid: "a", parentRefs: [{ kind: "B", name: "b", uid: "b" }] },
      { kind: "B", name: "b", uid: "b", parentRefs: [{ kind: "A", name: "a", uid: "a" }] },
      { kind: "C", name: "c", uid: "c", parentRefs: [{ kind: "X", name: "gone", uid: "x" }] },
    ];
    const count = (items: TreeItem[]): number => items.reduce((n, i) => n + 1 + count(i.children), 0);
    const tree = buildTree(nodes);
    expect(count(tree)).toBe(3);
    expect(tree.map((t) => t.node.name)).toContain("c");
  });
});
