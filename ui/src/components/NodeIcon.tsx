import type { NodeKind } from '../layout.ts';

interface Props {
  kind: NodeKind;
  x: number;
  y: number;
}

/** A stacked-box glyph for applications, a globe for addresses outside the model. */
export function NodeIcon({ kind, x, y }: Props) {
  if (kind === 'external') {
    return (
      <g className="node-icon node-icon-external" transform={`translate(${x},${y})`} aria-hidden="true">
        <circle r={9} />
        <ellipse rx={4} ry={9} />
        <path d="M-9,0 H9 M-7.5,-4.5 H7.5 M-7.5,4.5 H7.5" />
      </g>
    );
  }
  return (
    <g className="node-icon node-icon-app" transform={`translate(${x},${y})`} aria-hidden="true">
      <rect x={-10} y={-10} width={20} height={20} rx={5} />
      <path d="M-5,-3 L0,-5.5 L5,-3 L0,-0.5 Z M-5,0.5 L0,3 L5,0.5 M-5,3.5 L0,6 L5,3.5" />
    </g>
  );
}
