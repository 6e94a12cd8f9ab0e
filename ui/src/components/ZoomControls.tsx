interface Props {
  scale: number;
  fitted: boolean;
  onZoomIn: () => void;
  onZoomOut: () => void;
  onFit: () => void;
}

export function ZoomControls({ scale, fitted, onZoomIn, onZoomOut, onFit }: Props) {
  return (
    <div className="zoom" aria-label="Zoom">
      <button type="button" onClick={onZoomOut} title="Zoom out" aria-label="Zoom out" data-testid="zoom-out">
        −
      </button>
      <span className="zoom-level" data-testid="zoom-level">
        {Math.round(scale * 100)}%
      </span>
      <button type="button" onClick={onZoomIn} title="Zoom in" aria-label="Zoom in" data-testid="zoom-in">
        +
      </button>
      <button
        type="button"
        className={fitted ? 'zoom-fit is-active' : 'zoom-fit'}
        onClick={onFit}
        title="Fit the map to the window"
        data-testid="zoom-fit"
      >
        Fit
      </button>
    </div>
  );
}
