import type { ServiceEdge } from '../api.ts';
import { edgeColor, STATUS_TEXT } from '../edgeLabel.ts';
import { exactNumber, nodeLabel } from '../format.ts';

interface Props {
  edge: ServiceEdge;
  direction: 'in' | 'out';
  onSelect: (id: string) => void;
}

export function EdgeRow({ edge, direction, onSelect }: Props) {
  const peer = direction === 'in' ? edge.source : edge.target;
  const label = nodeLabel(peer);
  const extraDestinations = edge.destinations.filter((d) => `external:${d}` !== peer);
  return (
    <li
      className={`edge-row edge-row-${edge.status}`}
      data-testid="panel-edge"
      data-direction={direction}
      data-peer={peer}
      data-status={edge.status}
    >
      <div className="edge-row-head">
        <span className="status-dot" style={{ background: edgeColor(edge) }} aria-hidden="true" />
        <button type="button" className="peer" title={peer} onClick={() => onSelect(peer)}>
          <span className="peer-arrow">{direction === 'in' ? '←' : '→'}</span> {label.primary}
          {label.secondary && <span className="peer-context"> {label.secondary}</span>}
        </button>
        <span className={`status-pill status-pill-${edge.status}`}>{STATUS_TEXT[edge.status]}</span>
      </div>
      <dl className="edge-stats">
        <div>
          <dt>connects</dt>
          <dd data-stat="connects">{exactNumber(edge.connects)}</dd>
        </div>
        <div className={edge.failures > 0 ? 'stat-bad' : undefined}>
          <dt>failures</dt>
          <dd data-stat="failures">{exactNumber(edge.failures)}</dd>
        </div>
        <div className={edge.retransmits > 0 ? 'stat-warn' : undefined}>
          <dt>retransmits</dt>
          <dd data-stat="retransmits">{exactNumber(edge.retransmits)}</dd>
        </div>
        <div>
          <dt>active</dt>
          <dd data-stat="active">{exactNumber(edge.activeConnections)}</dd>
        </div>
      </dl>
      {extraDestinations.length > 0 && (
        <div className="edge-dests" title={extraDestinations.join('\n')}>
          via {extraDestinations.slice(0, 3).join(', ')}
          {extraDestinations.length > 3 ? ` +${extraDestinations.length - 3}` : ''}
        </div>
      )}
    </li>
  );
}
