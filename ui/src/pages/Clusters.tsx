import { Head, ErrorText } from "../components/Head";
import { useEffect, useState } from "preact/hooks";
import { get, listApps, type AppRow } from "../api";

interface Cluster {
  server: string;
  name: string;
  namespaces?: string[];
  clusterResources?: boolean;
  project?: string;
}

/** Clusters lists the clusters apps deploy to (read-only). */
export function Clusters() {
  const [clusters, setClusters] = useState<Cluster[]>([]);
  const [rows, setRows] = useState<AppRow[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    get<{ items: Cluster[] }>("/api/v1/clusters")
      .then((r) => setClusters(r.items ?? []))
      .catch((e) => setError(e.message));
    listApps({ limit: 100000 })
      .then((p) => setRows(p.items))
      .catch(() => {});
  }, []);
  const count = (c: Cluster) => rows.filter((r) => r.cluster === c.name || r.cluster === c.server).length;
  return (
    <div>
      <h1>Clusters</h1>
      <ErrorText message={error} />
      <table>
        <Head cols={["Name", "Server", "Namespaces", "Project", "Apps"]} />
        <tbody>
          {clusters.map((c) => (
            <tr key={c.server} data-cluster={c.name}>
              <td>{c.name}</td>
              <td class="mono">{c.server}</td>
              <td>{c.namespaces?.length ? c.namespaces.join(", ") : "all"}</td>
              <td>{c.project || <span class="muted">—</span>}</td>
              <td>{count(c)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
