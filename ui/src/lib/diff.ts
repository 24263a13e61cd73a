import { diffLines } from "diff";
import { stringify } from "yaml";

/** One line of a unified view of two documents. */
export interface DiffLine {
  kind: "same" | "add" | "del" | "gap";
  text: string;
}

// Fields the API server sets, which a reader of a diff does not want.
const noise = ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"];

/** toYAML turns an object's JSON (as the API sends it) into YAML, without
 * the fields the API server keeps for itself. Empty for no object. */
export function toYAML(json?: string): string {
  if (!json) return "";
  const obj = JSON.parse(json);
  if (obj && typeof obj === "object" && obj.metadata) {
    for (const k of noise) delete obj.metadata[k];
    if (obj.metadata.annotations) {
      delete obj.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"];
      if (Object.keys(obj.metadata.annotations).length === 0) delete obj.metadata.annotations;
    }
  }
  if (obj && typeof obj === "object") delete obj.status;
  return stringify(obj, { sortMapEntries: true });
}

/**
 * unifiedDiff compares live with desired, line by line: removed lines are
 * what the cluster has and Git does not, added lines what Git asks for.
 * Runs of more than context unchanged lines are folded into a gap.
 */
export function unifiedDiff(live: string, desired: string, context = 3): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(live, desired)) {
    const lines = part.value.replace(/\n$/, "").split("\n");
    const kind = part.added ? "add" : part.removed ? "del" : "same";
    for (const text of lines) out.push({ kind, text });
  }
  // Fold unchanged runs far from any change.
  const keep = out.map(() => false);
  out.forEach((l, i) => {
    if (l.kind === "same") return;
    for (let j = Math.max(0, i - context); j <= Math.min(out.length - 1, i + context); j++) keep[j] = true;
  });
  const folded: DiffLine[] = [];
  let skipped = 0;
  out.forEach((l, i) => {
    if (keep[i]) {
      if (skipped) folded.push({ kind: "gap", text: `… ${skipped} unchanged line${skipped > 1 ? "s" : ""}` });
      skipped = 0;
      folded.push(l);
    } else skipped++;
  });
  if (skipped && folded.length) folded.push({ kind: "gap", text: `… ${skipped} unchanged line${skipped > 1 ? "s" : ""}` });
  return folded;
}
