import { useState } from "preact/hooks";
import type { TreeItem } from "../lib/tree";
import { onLink } from "../router";
import { Badge } from "./Status";

export interface TreeProps {
  items: TreeItem[];
  /** Objects Git and the cluster disagree on, by tree id. */
  modified?: Set<string>;
  selected?: string;
  onSelect?: (item: TreeItem) => void;
  /** Where a node links to (a nested Kustomization's page), if anywhere. */
  linkOf?: (item: TreeItem) => string | undefined;
}

/**
 * Tree shows a resource tree as nested lists (an ARIA tree): each object
 * with its kind, name, health and whether it is out of sync; branches fold
 * with their button, and every row is reachable from the keyboard.
 */
export function Tree(props: TreeProps) {
  if (props.items.length === 0) return <p class="muted">No objects.</p>;
  return (
    <ul class="tree" role="tree">
      {props.items.map((it) => (
        <Branch key={it.id} item={it} depth={1} {...props} />
      ))}
    </ul>
  );
}

function Branch(props: TreeProps & { item: TreeItem; depth: number }) {
  const { item, depth, modified, selected, onSelect, linkOf } = props;
  const [open, setOpen] = useState(depth < 3);
  const n = item.node;
  const hasChildren = item.children.length > 0;
  const link = linkOf?.(item);
  return (
    <li role="treeitem" aria-level={depth} aria-expanded={hasChildren ? open : undefined} aria-selected={selected === item.id}>
      <div class={`node${selected === item.id ? " selected" : ""}`} data-kind={n.kind} data-name={n.name}>
        {hasChildren ? (
          <button class="fold" aria-label={`${open ? "Fold" : "Unfold"} ${n.kind} ${n.name}`} onClick={() => setOpen(!open)}>
            {open ? "▾" : "▸"}
          </button>
        ) : (
          <span class="fold" aria-hidden="true" />
        )}
        <button class="node-name" onClick={() => onSelect?.(item)} title={n.health?.message}>
          <span class="kind">{n.kind}</span> {n.namespace ? <span class="muted">{n.namespace}/</span> : null}
          {n.name}
        </button>
        {n.health?.status ? <Badge status={n.health.status} label="health" /> : null}
        {modified?.has(item.id) ? <Badge status="OutOfSync" label="sync" /> : null}
        {link ? (
          <a class="node-link" href={link} onClick={onLink}>
            open
          </a>
        ) : null}
        {n.health?.message && n.health.status !== "Healthy" ? <span class="node-message">{n.health.message}</span> : null}
      </div>
      {hasChildren && open ? (
        <ul role="group">
          {item.children.map((c) => (
            <Branch key={c.id} {...props} item={c} depth={depth + 1} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
