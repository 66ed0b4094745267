// The progress bar that `fcnet train` draws on a terminal: one line, redrawn in place on stderr.
//   Epoch 2/5 [=========>          ] 340/600  loss 0.1234  test 96.71 %  41,234 img/s  ETA 0:07
// and on a table with held-out rows (--validation), their figures after the last epoch:
//   Epoch 3/40 [====>        ] 7/15  loss 0.0812  val loss 0.1820 acc 98.25 %  9,120 rows/s  ETA 0:02
//   Epoch 3/40 [====>        ] 7/15  loss 0.0812  val MSE 0.2113 MAE 0.3310  9,120 rows/s  ETA 0:02

export interface ProgressState {
  /** 1-based epoch and the steps done in it. */
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** The latest batch loss; left out when not known (NaN). */
  loss?: number;
  /** Test accuracy (0..1) measured at the last epoch's end, once there is one. */
  testAccuracy?: number;
  /** The held-out rows' figures at the last epoch's end (a table's run with --validation): accuracy for classes, else MSE and MAE. */
  validation?: { loss: number; accuracy?: number; mse?: number; mae?: number };
  samplesPerSecond?: number;
  /** Estimated seconds until the run ends. */
  secondsLeft?: number;
  /** What the speed counts: 'img' (the default) or 'rows'. */
  sampleUnit?: 'img' | 'rows';
}

/** 7 → "0:07", 185 → "3:05", 3725 → "1:02:05"; unknown → "--:--". */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** `[=====>    ]` `width` characters wide in all, for `fraction` (0..1) done. */
export function formatBar(fraction: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const done = Math.min(inner, Math.max(0, Math.floor(fraction * inner)));
  const body = done >= inner ? '='.repeat(inner) : '='.repeat(done) + '>' + ' '.repeat(inner - done - 1);
  return `[${body}]`;
}

const MIN_BAR = 12;
const MAX_BAR = 32;

/**
 * The progress line, at most `columns - 1` characters (a line that fills the last column wraps on some
 * terminals). The bar shrinks first; then the fields go from the right: speed, validation, test accuracy, loss;
 * then the bar shrinks further and goes.
 */
export function formatProgress(s: ProgressState, columns = 80): string {
  const head = `Epoch ${s.epoch}/${s.epochs}`;
  const count = `${s.step}/${s.steps}`;
  const fields: string[] = [];
  if (s.loss !== undefined && Number.isFinite(s.loss)) fields.push(`loss ${s.loss.toFixed(4)}`);
  if (s.testAccuracy !== undefined) fields.push(`test ${(100 * s.testAccuracy).toFixed(2)} %`);
  const v = s.validation;
  if (v !== undefined) {
    fields.push(v.accuracy !== undefined ? `val loss ${v.loss.toFixed(4)} acc ${(100 * v.accuracy).toFixed(2)} %`
      : v.mse !== undefined ? `val MSE ${v.mse.toPrecision(4)} MAE ${v.mae!.toPrecision(4)}` : `val loss ${v.loss.toFixed(4)}`);
  }
  if (s.samplesPerSecond !== undefined && Number.isFinite(s.samplesPerSecond)) {
    fields.push(`${Math.round(s.samplesPerSecond).toLocaleString('en-US')} ${s.sampleUnit ?? 'img'}/s`);
  }
  const eta = `ETA ${formatDuration(s.secondsLeft)}`;
  const limit = Math.max(1, columns - 1);
  for (;;) {
    const tail = [count, ...fields, eta].join('  ');
    const room = limit - head.length - tail.length - 2; // the two spaces around the bar
    if (room >= MIN_BAR) return `${head} ${formatBar(s.step / s.steps, Math.min(MAX_BAR, room))} ${tail}`;
    if (fields.length === 0) {
      // Narrower still: a shorter bar, then none, then whatever fits.
      const line = room >= 5 ? `${head} ${formatBar(s.step / s.steps, room)} ${tail}` : `${head} ${tail}`;
      return line.slice(0, limit).trimEnd();
    }
    fields.pop(); // speed first, then the validation figures, test accuracy, loss: the order a glance needs them in, reversed
  }
}

/** What the bar draws on: a TTY stream (process.stderr) or a stand-in with the same members. */
export interface TerminalStream {
  write(text: string): unknown;
  columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

/** One line on a terminal, redrawn at most every `intervalMs`; lines printed meanwhile scroll above it. */
export class ProgressLine {
  private lastDraw = -Infinity;
  private shown = false;
  private state: ProgressState | undefined;

  constructor(
    private readonly stream: TerminalStream,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Redraws with `state` unless the last redraw was under `intervalMs` ago; `force` redraws anyway. */
  update(state: ProgressState, force = false): void {
    this.state = state;
    const now = this.now();
    if (!force && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.stream.write(CLEAR_LINE + formatProgress(state, this.stream.columns || 80));
    this.shown = true;
  }

  /** Changes what the next redraw shows (e.g. an epoch's new figures), without drawing now. */
  patch(fields: Partial<ProgressState>): void {
    if (this.state) this.state = { ...this.state, ...fields };
  }

  /** Runs `print` (which writes whole lines) with the bar taken away, then puts the bar back. */
  above(print: () => void): void {
    const wasShown = this.shown;
    this.clear();
    print();
    if (wasShown && this.state) this.update(this.state, true);
  }

  /** Takes the bar off the screen, leaving the cursor at the start of the empty line. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write(CLEAR_LINE);
    this.shown = false;
  }
}
