import { REFRESH_INTERVAL_MS } from '../useServiceMap.ts';

interface Props {
  message: string;
  hasStaleMap: boolean;
}

export function ErrorBanner({ message, hasStaleMap }: Props) {
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <strong>Service map unavailable.</strong> {message}{' '}
      <span className="banner-hint">
        {hasStaleMap ? 'Showing the last map that loaded; retrying' : 'Retrying'} every {REFRESH_INTERVAL_MS / 1000} s.
      </span>
    </div>
  );
}
