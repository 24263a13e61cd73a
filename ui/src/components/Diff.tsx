import { unifiedDiff } from "../lib/diff";

/** Diff shows what a sync would change: lines of the live object it
 * removes and lines of the desired one it adds, unchanged runs folded. */
export function Diff({ live, desired }: { live: string; desired: string }) {
  if (live === desired) return <p class="muted">No differences.</p>;
  const lines = unifiedDiff(live, desired);
  return (
    <pre class="diff" aria-label="Differences: lines starting with minus are live only, with plus desired only">
      {lines.map((l, i) => (
        <div key={i} class={`line ${l.kind}`}>
          <span aria-hidden="true">{l.kind === "add" ? "+ " : l.kind === "del" ? "- " : "  "}</span>
          {l.text}
        </div>
      ))}
    </pre>
  );
}
