import { Head } from "./Head";
import type { KubeEvent } from "../api";
import { ago, Badge } from "./Status";

/** Events lists Kubernetes events, newest first. */
export function Events({ events }: { events: KubeEvent[] }) {
  if (events.length === 0) return <p class="muted">No events.</p>;
  const when = (e: KubeEvent) => e.lastTimestamp || e.eventTime || e.metadata?.creationTimestamp;
  const sorted = [...events].sort((a, b) => (when(b) ?? "").localeCompare(when(a) ?? ""));
  return (
    <table class="events">
      <Head cols={["Type", "Reason", "Message", "When"]} />
      <tbody>
        {sorted.map((e, i) => (
          <tr key={e.metadata?.name ?? i}>
            <td>
              <Badge status={e.type === "Warning" ? "Degraded" : "Healthy"} label={e.type} />
            </td>
            <td>{e.reason}</td>
            <td class="message">
              {e.message}
              {e.count && e.count > 1 ? <span class="muted"> ×{e.count}</span> : null}
            </td>
            <td title={when(e)}>{ago(when(e))}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
