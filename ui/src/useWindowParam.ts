import { useCallback, useState } from 'react';

export const WINDOW_OPTIONS = [300, 900, 3600] as const;
export const DEFAULT_WINDOW = 300;

function readWindow(): number {
  const raw = Number(new URLSearchParams(window.location.search).get('window'));
  return (WINDOW_OPTIONS as readonly number[]).includes(raw) ? raw : DEFAULT_WINDOW;
}

/** The selected window in seconds, kept in `?window=` so a reload or a shared link keeps it. */
export function useWindowParam(): [number, (seconds: number) => void] {
  const [seconds, setSeconds] = useState(readWindow);
  const update = useCallback((next: number) => {
    setSeconds(next);
    const url = new URL(window.location.href);
    if (next === DEFAULT_WINDOW) url.searchParams.delete('window');
    else url.searchParams.set('window', String(next));
    window.history.replaceState(null, '', url);
  }, []);
  return [seconds, update];
}
