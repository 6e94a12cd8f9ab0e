import { IDLE_COLOR, STATUS_COLOR } from '../edgeLabel.ts';

const ITEMS = [
  { color: STATUS_COLOR.ok, text: 'Healthy' },
  { color: STATUS_COLOR.warning, text: 'TCP retransmits' },
  { color: STATUS_COLOR.critical, text: 'Connection failures' },
  { color: IDLE_COLOR, text: 'Idle', dashed: true },
];

export function Legend() {
  return (
    <div className="legend" aria-label="Legend">
      {ITEMS.map((i) => (
        <span key={i.text} className="legend-item">
          <svg width="22" height="8" aria-hidden="true">
            <line x1="1" y1="4" x2="21" y2="4" stroke={i.color} strokeWidth="2.5" strokeDasharray={i.dashed ? '3 3' : undefined} />
          </svg>
          {i.text}
        </span>
      ))}
      <span className="legend-item">
        <span className="legend-external" aria-hidden="true" />
        External endpoint
      </span>
    </div>
  );
}
