import type { ServiceEdge } from '../api.ts';
import { EdgeRow } from './EdgeRow.tsx';

interface Props {
  title: string;
  direction: 'in' | 'out';
  edges: ServiceEdge[];
  onSelect: (id: string) => void;
}

const RANK = { critical: 0, warning: 1, ok: 2 } as const;

export function EdgeList({ title, direction, edges, onSelect }: Props) {
  // Problems first, then the busiest connections.
  const sorted = [...edges].sort((a, b) => RANK[a.status] - RANK[b.status] || b.connects - a.connects);
  return (
    <section className="panel-section" data-testid={`panel-${direction}bound`}>
      <h3>
        {title} <span className="count">{edges.length}</span>
      </h3>
      {sorted.length === 0 ? (
        <p className="panel-none">{direction === 'in' ? 'No inbound connections.' : 'No outbound connections.'}</p>
      ) : (
        <ul className="edge-rows">
          {sorted.map((e) => (
            <EdgeRow key={`${e.source}\u0000${e.target}`} edge={e} direction={direction} onSelect={onSelect} />
          ))}
        </ul>
      )}
    </section>
  );
}
