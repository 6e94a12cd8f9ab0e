import { ago } from '../format.ts';
import { useNow } from '../useNow.ts';

export function UpdatedAgo({ updatedAt }: { updatedAt: number | null }) {
  const now = useNow(1000);
  return (
    <span className="updated" data-testid="updated-ago" title={updatedAt ? new Date(updatedAt).toLocaleString() : undefined}>
      {updatedAt === null ? 'not loaded yet' : `updated ${ago(now - updatedAt)}`}
    </span>
  );
}
