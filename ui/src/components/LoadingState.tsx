export function LoadingState() {
  return (
    <div className="empty" data-testid="loading">
      <div className="spinner" aria-hidden="true" />
      <p>Loading the service map…</p>
    </div>
  );
}
