import type { EdgeStatus } from '../api.ts';
import { IDLE_COLOR, STATUS_COLOR } from '../edgeLabel.ts';

export function markerId(color: string): string {
  return `arrow-${color.replace('#', '')}`;
}

const COLORS = [...(Object.keys(STATUS_COLOR) as EdgeStatus[]).map((s) => STATUS_COLOR[s]), IDLE_COLOR];

/** One arrowhead per edge colour; SVG markers cannot inherit the stroke of the path using them. */
export function EdgeMarkers() {
  return (
    <defs>
      {COLORS.map((c) => (
        <marker
          key={c}
          id={markerId(c)}
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          markerUnits="userSpaceOnUse"
          orient="auto-start-reverse"
        >
          <path d="M0,1 L10,5 L0,9 z" fill={c} />
        </marker>
      ))}
      <filter id="node-shadow" x="-10%" y="-20%" width="120%" height="150%">
        <feDropShadow dx="0" dy="1" stdDeviation="1.5" floodColor="#0f172a" floodOpacity="0.12" />
      </filter>
    </defs>
  );
}
