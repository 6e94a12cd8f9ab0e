import type { KeyboardEvent, MouseEvent } from 'react';
import { nodeLabel } from '../format.ts';
import type { PositionedNode } from '../layout.ts';
import { NodeIcon } from './NodeIcon.tsx';

interface Props {
  node: PositionedNode;
  selected: boolean;
  dimmed: boolean;
  onSelect: (id: string) => void;
}

export function MapNode({ node, selected, dimmed, onSelect }: Props) {
  const { id, kind, x, y, width, height, instances } = node;
  const label = nodeLabel(id);
  const left = -width / 2;
  const top = -height / 2;
  const classes = ['node', `node-${kind}`, selected ? 'is-selected' : '', dimmed ? 'is-dimmed' : '']
    .filter(Boolean)
    .join(' ');
  const choose = (e: MouseEvent | KeyboardEvent) => {
    e.stopPropagation();
    onSelect(id);
  };

  return (
    <g
      className={classes}
      transform={`translate(${x},${y})`}
      data-testid={kind === 'external' ? 'external-node' : 'app-node'}
      data-app-id={id}
      data-kind={kind}
      data-selected={selected ? 'true' : 'false'}
      role="button"
      tabIndex={0}
      aria-pressed={selected}
      aria-label={id}
      onClick={choose}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') choose(e);
      }}
    >
      <title>
        {id}
        {instances !== undefined ? `\n${instances} instance${instances === 1 ? '' : 's'}` : ''}
      </title>
      <rect className="node-box" x={left} y={top} width={width} height={height} rx={8} />
      <NodeIcon kind={kind} x={left + 22} y={0} />
      <text className="node-name" x={left + 42} y={label.secondary ? -3 : 0} dominantBaseline="central">
        {label.primary}
      </text>
      {label.secondary && (
        <text className="node-context" x={left + 42} y={12} dominantBaseline="central">
          {label.secondary}
        </text>
      )}
      {instances !== undefined && instances > 1 && (
        <g className="node-badge" transform={`translate(${width / 2 - 14},${top + 1})`}>
          <rect x={-14} y={-9} width={28} height={18} rx={9} />
          <text textAnchor="middle" dominantBaseline="central">
            ×{instances}
          </text>
        </g>
      )}
    </g>
  );
}
