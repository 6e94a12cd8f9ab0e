import type { ServiceMapData } from '../api.ts';

export function MapSummary({ data }: { data: ServiceMapData }) {
  const critical = data.edges.filter((e) => e.status === 'critical').length;
  const warning = data.edges.filter((e) => e.status === 'warning').length;
  return (
    <div className="summary" data-testid="map-summary">
      <span>
        <b>{data.applications.length}</b> apps
      </span>
      <span>
        <b>{data.edges.length}</b> connections
      </span>
      {critical > 0 && (
        <span className="summary-critical">
          <b>{critical}</b> failing
        </span>
      )}
      {warning > 0 && (
        <span className="summary-warning">
          <b>{warning}</b> retransmitting
        </span>
      )}
    </div>
  );
}
