import type { ServiceMapData } from '../api.ts';
import { MapSummary } from './MapSummary.tsx';
import { RefreshButton } from './RefreshButton.tsx';
import { UpdatedAgo } from './UpdatedAgo.tsx';
import { WindowSelector } from './WindowSelector.tsx';

interface Props {
  data: ServiceMapData | null;
  windowSeconds: number;
  onWindowChange: (seconds: number) => void;
  updatedAt: number | null;
  loading: boolean;
  onRefresh: () => void;
}

export function Header({ data, windowSeconds, onWindowChange, updatedAt, loading, onRefresh }: Props) {
  return (
    <header className="header">
      <div className="brand">
        <svg className="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
          <circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" strokeWidth="2" opacity="0.45" />
          <circle cx="12" cy="12" r="5.5" fill="none" stroke="currentColor" strokeWidth="2" opacity="0.75" />
          <circle cx="12" cy="12" r="2" fill="currentColor" />
        </svg>
        <span className="brand-name">Rootsight</span>
      </div>
      <nav className="nav">
        <span className="nav-item nav-item-active" aria-current="page">
          Service map
        </span>
      </nav>
      {data && <MapSummary data={data} />}
      <div className="header-controls">
        <UpdatedAgo updatedAt={updatedAt} />
        <WindowSelector value={windowSeconds} onChange={onWindowChange} />
        <RefreshButton loading={loading} onClick={onRefresh} />
      </div>
    </header>
  );
}
