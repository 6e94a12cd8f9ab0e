import { useMemo, useRef, useState } from 'react';
import type { MapLayout } from '../layout.ts';
import { useElementSize } from '../useElementSize.ts';
import { EdgeMarkers } from './EdgeMarkers.tsx';
import { MapEdge } from './MapEdge.tsx';
import { MapNode } from './MapNode.tsx';
import { ZoomControls } from './ZoomControls.tsx';

interface Props {
  layout: MapLayout;
  selected: string | null;
  onSelect: (id: string | null) => void;
}

// Fitting shrinks no further than this, since labels become unreadable; beyond it the canvas scrolls.
const MIN_FIT_SCALE = 0.5;
const MIN_ZOOM = 0.3;
const MAX_ZOOM = 2;
const ZOOM_STEP = 1.25;

export function ServiceMap({ layout, selected, onSelect }: Props) {
  const viewport = useRef<HTMLDivElement>(null);
  const size = useElementSize(viewport);
  const fitScale =
    size.width > 0 && size.height > 0
      ? Math.max(MIN_FIT_SCALE, Math.min(1, (size.width - 32) / layout.width, (size.height - 32) / layout.height))
      : 1;
  // null follows the fit; a number is the user's own zoom, kept across refreshes.
  const [zoom, setZoom] = useState<number | null>(null);
  const scale = zoom ?? fitScale;
  const zoomBy = (factor: number) => setZoom(Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, scale * factor)));

  const neighbours = useMemo(() => {
    if (!selected) return null;
    const ids = new Set<string>([selected]);
    for (const e of layout.edges) {
      if (e.edge.source === selected) ids.add(e.edge.target);
      if (e.edge.target === selected) ids.add(e.edge.source);
    }
    return ids;
  }, [layout, selected]);

  return (
    <>
      <div className="map-viewport" ref={viewport} onClick={() => onSelect(null)}>
        <svg
          className="map"
          data-testid="service-map"
          width={Math.round(layout.width * scale)}
          height={Math.round(layout.height * scale)}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          role="group"
          aria-label={`Service map with ${layout.nodes.length} nodes and ${layout.edges.length} connections`}
        >
          <EdgeMarkers />
          <g className="edges">
            {layout.edges.map((e) => {
              const touches = selected !== null && (e.edge.source === selected || e.edge.target === selected);
              return <MapEdge key={e.key} positioned={e} highlighted={touches} dimmed={selected !== null && !touches} />;
            })}
          </g>
          <g className="nodes">
            {layout.nodes.map((n) => (
              <MapNode
                key={n.id}
                node={n}
                selected={n.id === selected}
                dimmed={neighbours !== null && !neighbours.has(n.id)}
                onSelect={(id) => onSelect(id === selected ? null : id)}
              />
            ))}
          </g>
        </svg>
      </div>
      <ZoomControls
        scale={scale}
        fitted={zoom === null}
        onZoomIn={() => zoomBy(ZOOM_STEP)}
        onZoomOut={() => zoomBy(1 / ZOOM_STEP)}
        onFit={() => setZoom(null)}
      />
    </>
  );
}
