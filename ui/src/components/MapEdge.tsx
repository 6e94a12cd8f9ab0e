import { compactNumber } from '../format.ts';
import { edgeColor, STATUS_COLOR } from '../edgeLabel.ts';
import { splinePath, type PositionedEdge } from '../layout.ts';
import { markerId } from './EdgeMarkers.tsx';

interface Props {
  positioned: PositionedEdge;
  highlighted: boolean;
  dimmed: boolean;
}

/** Busier connections draw thicker, on a log scale so one hot edge does not dwarf the rest. */
function strokeWidth(connects: number, active: number): number {
  return Math.min(4, 1.4 + Math.log10(1 + connects + active) * 0.7);
}

export function MapEdge({ positioned, highlighted, dimmed }: Props) {
  const { edge, points, labelX, labelY, labelWidth, labelHeight } = positioned;
  const color = edgeColor(edge);
  const width = strokeWidth(edge.connects, edge.activeConnections) + (highlighted ? 1 : 0);
  const tooltip =
    `${edge.source} → ${edge.target}\n` +
    `${edge.connects} connects, ${edge.failures} failures, ${edge.retransmits} retransmits, ` +
    `${edge.activeConnections} active` +
    (edge.destinations.length ? `\nvia ${edge.destinations.join(', ')}` : '');
  const second =
    edge.failures > 0
      ? { text: `${compactNumber(edge.failures)} fail`, color: STATUS_COLOR.critical }
      : edge.retransmits > 0
        ? { text: `${compactNumber(edge.retransmits)} retr`, color: STATUS_COLOR.warning }
        : { text: '0 fail', color: undefined };
  const classes = ['edge', `edge-${edge.status}`, highlighted ? 'is-highlighted' : '', dimmed ? 'is-dimmed' : '']
    .filter(Boolean)
    .join(' ');

  return (
    <g
      className={classes}
      data-testid="edge"
      data-source={edge.source}
      data-target={edge.target}
      data-status={edge.status}
      data-highlighted={highlighted ? 'true' : 'false'}
    >
      <title>{tooltip}</title>
      <path className="edge-hit" d={splinePath(points)} />
      <path
        className="edge-line"
        d={splinePath(points)}
        stroke={color}
        strokeWidth={width}
        markerEnd={`url(#${markerId(color)})`}
        strokeDasharray={edge.status === 'ok' && edge.connects === 0 && edge.activeConnections === 0 ? '4 4' : undefined}
      />
      <g className="edge-label" transform={`translate(${labelX - labelWidth / 2},${labelY - labelHeight / 2})`}>
        <rect width={labelWidth} height={labelHeight} rx={labelHeight / 2} stroke={color} />
        <text x={labelWidth / 2} y={labelHeight / 2} dominantBaseline="central" textAnchor="middle" data-testid="edge-label">
          <tspan>{compactNumber(edge.connects)} conn</tspan>
          <tspan className="edge-label-sep"> · </tspan>
          <tspan fill={second.color} fontWeight={second.color ? 600 : undefined}>
            {second.text}
          </tspan>
        </text>
      </g>
    </g>
  );
}
