import { describe, expect, it } from "vitest";
import { toYAML, unifiedDiff } from "./diff";

describe("toYAML", () => {
  it("drops what the API server keeps for itself, and status", () => {
    const y = toYAML(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a", resourceVersion: "12", uid: "u", managedFields: [{}], annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
        data: { b: "2", a: "1" },
        status: { x: 1 },
      }),
    );
    expect(y).toBe("apiVersion: v1\ndata:\n  a: \"1\"\n  b: \"2\"\nkind: ConfigMap\nmetadata:\n  name: a\n");
  });
  it("is empty for no object", () => expect(toYAML(undefined)).toBe(""));
});

describe("unifiedDiff", () => {
  it("marks removed live lines and added desired lines, folding far unchanged runs", () => {
    const live = ["a: 1", "b: 2", "c: 3", "d: 4", "e: 5", "f: 6", "g: 7", "h: 8", "replicas: 5"].join("\n") + "\n";
    const desired = live.replace("replicas: 5", "replicas: 2");
    const lines = unifiedDiff(live, desired, 2);
    expect(lines).toEqual([
      { kind: "gap", text: "… 6 unchanged lines" },
      { kind: "same", text: "g: 7" },
      { kind: "same", text: "h: 8" },
      { kind: "del", text: "replicas: 5" },
      { kind: "add", text: "replicas: 2" },
    ]);
  });
  it("shows a new object as all added", () => {
    expect(unifiedDiff("", "a: 1\n")).toEqual([{ kind: "add", text: "a: 1" }]);
  });
});
