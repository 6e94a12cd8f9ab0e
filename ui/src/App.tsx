import { useEffect, useMemo, useState } from 'react';
import { Header } from './components/Header.tsx';
import { ErrorBanner } from './components/ErrorBanner.tsx';
import { EmptyState } from './components/EmptyState.tsx';
import { LoadingState } from './components/LoadingState.tsx';
import { ServiceMap } from './components/ServiceMap.tsx';
import { SidePanel } from './components/SidePanel.tsx';
import { Legend } from './components/Legend.tsx';
import { layoutServiceMap } from './layout.ts';
import { useServiceMap } from './useServiceMap.ts';
import { useWindowParam } from './useWindowParam.ts';

export function App() {
  const [windowSeconds, setWindowSeconds] = useWindowParam();
  const { data, error, updatedAt, loading, refresh } = useServiceMap(windowSeconds);
  const [selected, setSelected] = useState<string | null>(null);

  const mapLayout = useMemo(() => (data ? layoutServiceMap(data) : null), [data]);
  const isEmpty = data !== null && data.applications.length === 0 && data.edges.length === 0;
  // A selection that vanished in a refresh would leave the panel describing nothing.
  const selectedNode = selected && mapLayout?.nodes.find((n) => n.id === selected);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setSelected(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="app">
      <Header
        data={data}
        windowSeconds={windowSeconds}
        onWindowChange={setWindowSeconds}
        updatedAt={updatedAt}
        loading={loading}
        onRefresh={refresh}
      />
      {error && <ErrorBanner message={error} hasStaleMap={data !== null} />}
      <main className="workspace">
        <section className="canvas" aria-label="Service map">
          {data === null && !error && <LoadingState />}
          {isEmpty && <EmptyState />}
          {mapLayout && !isEmpty && (
            <>
              <ServiceMap layout={mapLayout} selected={selectedNode ? selectedNode.id : null} onSelect={setSelected} />
              <Legend />
            </>
          )}
        </section>
        {selectedNode && data && (
          <SidePanel node={selectedNode} edges={data.edges} onSelect={setSelected} onClose={() => setSelected(null)} />
        )}
      </main>
    </div>
  );
}
