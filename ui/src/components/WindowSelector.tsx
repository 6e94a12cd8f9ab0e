import { windowLabel } from '../format.ts';
import { WINDOW_OPTIONS } from '../useWindowParam.ts';

interface Props {
  value: number;
  onChange: (seconds: number) => void;
}

export function WindowSelector({ value, onChange }: Props) {
  return (
    <div className="segmented" role="radiogroup" aria-label="Time window" data-testid="window-selector">
      {WINDOW_OPTIONS.map((seconds) => (
        <button
          key={seconds}
          type="button"
          role="radio"
          aria-checked={seconds === value}
          className={seconds === value ? 'segment segment-active' : 'segment'}
          data-testid="window-option"
          data-window={seconds}
          onClick={() => onChange(seconds)}
        >
          {windowLabel(seconds)}
        </button>
      ))}
    </div>
  );
}
