import { isExternal, type ServiceEdge } from '../api.ts';
import type { PositionedNode } from '../layout.ts';
import { EdgeList } from './EdgeList.tsx';

interface Props {
  node: PositionedNode;
  edges: ServiceEdge[];
  onSelect: (id: string) => void;
  onClose: () => void;
}

export function SidePanel({ node, edges, onSelect, onClose }: Props) {
  const inbound = edges.filter((e) => e.target === node.id);
  const outbound = edges.filter((e) => e.source === node.id);
  const kindText = isExternal(node.id)
    ? 'External endpoint'
    : node.instances !== undefined
      ? `Application · ${node.instances} instance${node.instances === 1 ? '' : 's'}`
      : 'Application (not reported in this window)';

  return (
    <aside className="panel" data-testid="side-panel" data-node-id={node.id} aria-label={`Connections of ${node.id}`}>
      <div className="panel-head">
        <div className="panel-title">
          <div className="panel-kind">{kindText}</div>
          <h2 title={node.id}>{node.id}</h2>
        </div>
        <button type="button" className="panel-close" onClick={onClose} aria-label="Close panel" data-testid="panel-close">
          ×
        </button>
      </div>
      <EdgeList title="Inbound" direction="in" edges={inbound} onSelect={onSelect} />
      <EdgeList title="Outbound" direction="out" edges={outbound} onSelect={onSelect} />
    </aside>
  );
}
