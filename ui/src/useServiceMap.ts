import { useCallback, useEffect, useRef, useState } from 'react';
import { fetchServiceMap, type ServiceMapData } from './api.ts';

export const REFRESH_INTERVAL_MS = 10_000;

export interface ServiceMapState {
  /** The last map that loaded; kept while later refreshes fail. */
  data: ServiceMapData | null;
  /** Message of the most recent failed refresh; cleared by the next success. */
  error: string | null;
  /** Browser time of the last successful load. */
  updatedAt: number | null;
  loading: boolean;
  refresh: () => void;
}

/** Loads the map for a window and reloads it every REFRESH_INTERVAL_MS. */
export function useServiceMap(windowSeconds: number): ServiceMapState {
  const [data, setData] = useState<ServiceMapData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const inflight = useRef<AbortController | null>(null);

  const load = useCallback(async () => {
    // A newer request supersedes an older one so a slow answer never overwrites a fresh one.
    inflight.current?.abort();
    const ctrl = new AbortController();
    inflight.current = ctrl;
    setLoading(true);
    try {
      const next = await fetchServiceMap(windowSeconds, ctrl.signal);
      if (ctrl.signal.aborted) return;
      setData(next);
      setError(null);
      setUpdatedAt(Date.now());
    } catch (err) {
      if (ctrl.signal.aborted) return;
      setError((err as Error).message);
    } finally {
      if (inflight.current === ctrl) {
        inflight.current = null;
        setLoading(false);
      }
    }
  }, [windowSeconds]);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_INTERVAL_MS);
    return () => {
      clearInterval(timer);
      inflight.current?.abort();
    };
  }, [load]);

  const refresh = useCallback(() => void load(), [load]);
  return { data, error, updatedAt, loading, refresh };
}
