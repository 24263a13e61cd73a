// Status badges: an icon and a word beside the colour, so that colour is
// never the only signal.

const icons: Record<string, string> = {
  Healthy: "♥",
  Synced: "✓",
  OutOfSync: "↻",
  Progressing: "◌",
  Degraded: "✕",
  Missing: "?",
  Suspended: "⏸",
  Unknown: "?",
  Running: "◌",
  Succeeded: "✓",
  Failed: "✕",
  Error: "✕",
  Terminating: "◌",
  Skipped: "–",
  True: "✓",
  False: "✕",
};

/** The colour class of a status word. */
export function tone(status: string | undefined): string {
  switch (status) {
    case "Healthy":
    case "Synced":
    case "Succeeded":
    case "True":
      return "ok";
    case "OutOfSync":
    case "Suspended":
    case "Missing":
      return "warn";
    case "Degraded":
    case "Failed":
    case "Error":
    case "False":
      return "bad";
    case "Progressing":
    case "Running":
    case "Terminating":
      return "busy";
  }
  return "none";
}

export function Badge({ status, label }: { status?: string; label?: string }) {
  const s = status || "Unknown";
  return (
    <span class={`badge ${tone(s)}`} title={label ? `${label}: ${s}` : s}>
      <span aria-hidden="true">{icons[s] ?? "•"}</span> {s}
    </span>
  );
}

/** How long ago an RFC 3339 time was, in words. */
export function ago(time?: string, now = Date.now()): string {
  if (!time) return "";
  const t = Date.parse(time);
  if (isNaN(t)) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A revision shortened the way Git shows commits. */
export function shortRev(rev?: string): string {
  if (!rev) return "";
  const sha = rev.includes(":") ? rev.slice(rev.lastIndexOf(":") + 1) : rev;
  const ref = rev.includes("@sha1:") ? rev.slice(0, rev.indexOf("@sha1:")) + "@" : "";
  return /^[0-9a-f]{40}$/.test(sha) ? ref + sha.slice(0, 7) : rev;
}

/** Rev shows a revision shortened, the whole of it on hover. */
export function Rev({ rev }: { rev?: string }) {
  return (
    <span class="mono" title={rev}>
      {shortRev(rev)}
    </span>
  );
}
