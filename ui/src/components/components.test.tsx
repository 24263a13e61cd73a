import { describe, expect, it } from "vitest";
import { render } from "preact-render-to-string";
import { Tree } from "./Tree";
import { Diff } from "./Diff";
import { Badge } from "./Status";
import { buildTree } from "../lib/tree";

describe("Tree", () => {
  const items = buildTree([
    { kind: "Deployment", name: "web", uid: "d1", health: { status: "Degraded", message: "0 of 2 updated replicas are available" } },
    { kind: "ReplicaSet", name: "web-1", uid: "rs1", parentRefs: [{ kind: "Deployment", name: "web", uid: "d1" }] },
  ]);
  const html = render(<Tree items={items} modified={new Set(["d1"])} selected="rs1" />);
  it("is an ARIA tree with levels and an expanded branch", () => {
    expect(html).toContain('role="tree"');
    expect(html).toMatch(/role="treeitem" aria-level="1" aria-expanded="true"/);
    expect(html).toMatch(/role="treeitem" aria-level="2"[^>]*aria-selected="true"/);
  });
  it("says health and sync in words beside the colour, with the health message", () => {
    expect(html).toContain('class="badge bad"');
    expect(html).toMatch(/Degraded<\/span>/);
    expect(html).toMatch(/OutOfSync<\/span>/);
    expect(html).toContain("0 of 2 updated replicas are available");
  });
  it("says when there is nothing", () => expect(render(<Tree items={[]} />)).toContain("No objects."));
});

describe("Diff", () => {
  it("renders added and removed lines with their signs", () => {
    const html = render(<Diff live={"replicas: 5\n"} desired={"replicas: 2\n"} />);
    expect(html).toContain('class="line del"');
    expect(html).toContain('class="line add"');
    expect(html).toMatch(/- <\/span>replicas: 5/);
    expect(html).toMatch(/\+ <\/span>replicas: 2/);
  });
  it("says when there are none", () => expect(render(<Diff live="a" desired="a" />)).toContain("No differences."));
});

describe("Badge", () => {
  it("never relies on colour alone", () => {
    const html = render(<Badge status="OutOfSync" label="sync" />);
    expect(html).toContain('title="sync: OutOfSync"');
    expect(html).toContain("OutOfSync");
  });
});
