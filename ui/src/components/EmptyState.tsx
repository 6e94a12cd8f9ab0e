export function EmptyState() {
  return (
    <div className="empty" data-testid="empty-state">
      <svg viewBox="0 0 64 64" className="empty-icon" aria-hidden="true">
        <circle cx="16" cy="32" r="7" />
        <circle cx="48" cy="18" r="7" />
        <circle cx="48" cy="46" r="7" />
        <path d="M23 30l18-9M23 34l18 9" />
      </svg>
      <h2>No applications yet — is the agent running?</h2>
      <p>
        Rootsight draws this map from what its agents see on each host. Start the agent on a host
        that runs services, and their connections appear here within a minute.
      </p>
    </div>
  );
}
