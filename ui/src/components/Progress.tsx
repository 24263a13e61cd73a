import { useEffect, useState } from "preact/hooks";
import type { ProgressEvent } from "../api";
import { Badge } from "./Status";

/** useProgress follows the sync engine's events of one app as they
 * happen (server-sent events), keeping those of the latest sync. */
export function useProgress(app: string): ProgressEvent[] {
  const [events, setEvents] = useState<ProgressEvent[]>([]);
  useEffect(() => {
    const es = new EventSource(`/api/v1/stream/progress?app=${encodeURIComponent(app)}`);
    es.onmessage = (m) => {
      try {
        const e = JSON.parse(m.data).result as ProgressEvent;
        if (!e?.app) return;
        setEvents((prev) => (e.action === "sync" && e.result === "Running" ? [e] : [...prev.slice(-999), e]));
      } catch {
        /* a keep-alive or a line that is not an event */
      }
    };
    return () => es.close();
  }, [app]);
  return events;
}

export const objectName = (o?: ProgressEvent["object"]) => (o ? `${o.Kind}/${o.Namespace ? o.Namespace + "/" : ""}${o.Name}` : "");

/** Progress shows a sync as the engine runs it: each phase and wave, and
 * in them each object's latest action and result. */
export function Progress({ events }: { events: ProgressEvent[] }) {
  if (events.length === 0) return <p class="muted">No sync has run since this page opened.</p>;
  const steps = new Map<string, Map<string, ProgressEvent>>();
  let overall: ProgressEvent | undefined;
  for (const e of events) {
    if (e.action === "sync") {
      overall = e;
      continue;
    }
    if (e.action === "step") continue; // the heading says it
    const step = `${e.phase || "Sync"} · wave ${e.wave}`;
    if (!steps.has(step)) steps.set(step, new Map());
    const key = e.object ? objectName(e.object) : `(${e.action})`;
    steps.get(step)!.set(key, e);
  }
  return (
    <div class="progress" aria-live="polite">
      {overall ? (
        <p>
          Sync <Badge status={overall.result} label="sync" /> {overall.message}
        </p>
      ) : null}
      <ol class="steps">
        {[...steps].map(([step, objs]) => (
          <li key={step} data-step={step}>
            <h4>{step}</h4>
            <ul>
              {[...objs].map(([name, e]) => (
                <li key={name} data-object={name}>
                  <Badge status={e.result} label={e.action} /> <span class="mono">{e.action}</span> {name}
                  {e.message ? <span class="muted"> — {e.message}</span> : null}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ol>
    </div>
  );
}
