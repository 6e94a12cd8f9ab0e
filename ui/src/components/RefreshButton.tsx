interface Props {
  loading: boolean;
  onClick: () => void;
}

export function RefreshButton({ loading, onClick }: Props) {
  return (
    <button
      type="button"
      className={loading ? 'icon-button spinning' : 'icon-button'}
      onClick={onClick}
      title="Refresh now"
      aria-label="Refresh now"
      data-testid="refresh"
    >
      <svg viewBox="0 0 24 24" aria-hidden="true">
        <path
          d="M20 12a8 8 0 1 1-2.34-5.66M20 4v4.5h-4.5"
          fill="none"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      </svg>
    </button>
  );
}
