// The progress bar of `fcnet train` on a terminal: the line it draws (exact strings), how it drops
// fields to fit, how often it redraws, and how the reference lines scroll above it.
import { createReporter, reporterMode, type StartEvent } from '../lib/cli/events';
import { formatBar, formatDuration, formatProgress, ProgressLine } from '../lib/cli/progress';

const state = { epoch: 2, epochs: 5, step: 340, steps: 600, loss: 0.12345, testAccuracy: 0.9671, samplesPerSecond: 41234.4, secondsLeft: 7.2 };

test('formatDuration: m:ss, h:mm:ss, and --:-- when unknown', () => {
  expect(formatDuration(7.2)).toBe('0:07');
  expect(formatDuration(185)).toBe('3:05');
  expect(formatDuration(3725)).toBe('1:02:05');
  expect(formatDuration(undefined)).toBe('--:--');
  expect(formatDuration(NaN)).toBe('--:--');
});

test('formatBar: the share done in =, an arrow head, spaces for the rest', () => {
  expect(formatBar(0, 12)).toBe('[>         ]');
  expect(formatBar(0.5, 12)).toBe('[=====>    ]');
  expect(formatBar(1, 12)).toBe('[==========]');
});

test('formatProgress: every field on a wide terminal, the bar at its widest', () => {
  expect(formatProgress(state, 120)).toBe(
    'Epoch 2/5 [=================>            ] 340/600  loss 0.1235  test 96.71 %  41,234 img/s  ETA 0:07',
  );
});

test('formatProgress: the bar shrinks to fit, then speed, test accuracy and loss go, then the bar', () => {
  const widths = [90, 80, 70, 56, 40, 36, 30, 20];
  const lines = widths.map((columns) => formatProgress(state, columns));
  expect(lines).toEqual([
    'Epoch 2/5 [==========>       ] 340/600  loss 0.1235  test 96.71 %  41,234 img/s  ETA 0:07',
    'Epoch 2/5 [============>         ] 340/600  loss 0.1235  test 96.71 %  ETA 0:07',
    'Epoch 2/5 [======>     ] 340/600  loss 0.1235  test 96.71 %  ETA 0:07',
    'Epoch 2/5 [======>     ] 340/600  loss 0.1235  ETA 0:07',
    'Epoch 2/5 [=====>   ] 340/600  ETA 0:07',
    'Epoch 2/5 [==>  ] 340/600  ETA 0:07',
    'Epoch 2/5 340/600  ETA 0:07',
    'Epoch 2/5 340/600',
  ]);
  lines.forEach((line, i) => expect(line.length).toBeLessThan(widths[i])); // the last column stays empty
});

test('formatProgress: before the first epoch ends there is no test accuracy; an unknown loss is left out', () => {
  expect(formatProgress({ epoch: 1, epochs: 5, step: 1, steps: 600, loss: NaN }, 100)).toBe(
    'Epoch 1/5 [>                             ] 1/600  ETA --:--',
  );
});

test("formatProgress: a table's run counts rows a second, not images", () => {
  expect(formatProgress({ epoch: 3, epochs: 40, step: 7, steps: 15, loss: 0.0812, samplesPerSecond: 9120, sampleUnit: 'rows', secondsLeft: 2 }, 100)).toBe(
    'Epoch 3/40 [==============>               ] 7/15  loss 0.0812  9,120 rows/s  ETA 0:02',
  );
});

/** A terminal stand-in: what was written, and the clock the bar reads. */
function fakeTerminal(columns = 100) {
  const writes: string[] = [];
  let now = 0;
  return { stream: { columns, write: (s: string) => writes.push(s) }, writes, clock: () => now, advance: (ms: number) => (now += ms) };
}

/** Runs `body` with a terminal reporter on `t`; stdout lines go into t.writes (in order with the bar) and come back. */
function withTerminalReporter(t: ReturnType<typeof fakeTerminal>, body: (reporter: ReturnType<typeof createReporter>) => void): string[] {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => {
    t.writes.push(`<stdout ${line}>`);
    out.push(line);
  });
  try {
    body(createReporter('terminal', { stderr: t.stream, now: t.clock }));
  } finally {
    log.mockRestore();
  }
  return out;
}

test('ProgressLine redraws at most every 100 ms, unless forced, and clears itself', () => {
  const t = fakeTerminal();
  const line = new ProgressLine(t.stream, 100, t.clock);
  line.update({ ...state, step: 1 });
  t.advance(50);
  line.update({ ...state, step: 2 }); // too soon
  t.advance(50);
  line.update({ ...state, step: 3 });
  line.update({ ...state, step: 4 }, true);
  expect(t.writes.map((w) => w.match(/\] (\d+)\//)?.[1])).toEqual(['1', '3', '4']);
  expect(t.writes.every((w) => w.startsWith('\r\x1b[2K'))).toBe(true);
  line.clear();
  line.clear(); // once is enough
  expect(t.writes.slice(3)).toEqual(['\r\x1b[2K']);
});

test('a terminal that reports no width (0 columns, as a pty without a size) gets an 80-column bar, not one letter', () => {
  const t = fakeTerminal(0);
  new ProgressLine(t.stream, 100, t.clock).update({ ...state, step: 1 });
  expect(t.writes[0]).toBe('\r\x1b[2K' + formatProgress({ ...state, step: 1 }, 80));
  expect(t.writes[0].length).toBeGreaterThan(40);
});

test('the terminal reporter prints the reference lines above the bar and takes the bar away at the end', () => {
  const t = fakeTerminal(120);
  const out = withTerminalReporter(t, (reporter) => {
    const start: StartEvent = { event: 'start', sizes: [784, 500, 10], backend: 'cpu', epochs: 1, batchSize: 100, lr: 0.001, seed: 0, stepsPerEpoch: 4, trainImages: 400, testImages: 100 };
    reporter.emit(start);
    for (let step = 0; step < 4; step++) {
      t.advance(250);
      reporter.progress({ epoch: 0, step, loss: 0.5 - step / 10, batchSize: 100 });
      if (step === 1) reporter.emit({ event: 'step', epoch: 1, epochs: 1, step: 2, steps: 4, loss: 0.4 });
    }
    reporter.emit({ event: 'end', accuracy: 0.9, correct: 90, n: 100, loss: 0.3, output: 'model.safetensors', seconds: 1 });
    reporter.close();
  });
  expect(out).toEqual(['Epoch [1/1], Step [2/4], Loss: 0.4000', 'Accuracy of the network on the 100 test images: 90 %']);
  const CLEAR = '\r\x1b[2K';
  expect(t.writes).toEqual([
    `${CLEAR}Epoch 1/1 [=======>                      ] 1/4  loss 0.5000  400 img/s  ETA 0:01`,
    `${CLEAR}Epoch 1/1 [===============>              ] 2/4  loss 0.4000  400 img/s  ETA 0:01`,
    CLEAR, // the line goes above the bar...
    '<stdout Epoch [1/1], Step [2/4], Loss: 0.4000>',
    `${CLEAR}Epoch 1/1 [===============>              ] 2/4  loss 0.4000  400 img/s  ETA 0:01`, // ...and the bar comes back
    `${CLEAR}Epoch 1/1 [======================>       ] 3/4  loss 0.3000  400 img/s  ETA 0:00`,
    `${CLEAR}Epoch 1/1 [==============================] 4/4  loss 0.2000  400 img/s  ETA 0:00`,
    CLEAR,
    '<stdout Accuracy of the network on the 100 test images: 90 %>',
  ]);
});

test('reporterMode: --json wins; the bar only on a TTY stderr, without --plain, on a terminal that is not dumb', () => {
  const tty = { isTTY: true };
  expect(reporterMode({ json: true }, tty, {})).toBe('json');
  expect(reporterMode({ json: true, plain: true }, tty, {})).toBe('json');
  expect(reporterMode({}, tty, {})).toBe('terminal');
  expect(reporterMode({ plain: true }, tty, {})).toBe('plain');
  expect(reporterMode({}, { isTTY: false }, {})).toBe('plain');
  expect(reporterMode({}, tty, { TERM: 'dumb' })).toBe('plain');
});

describe("a table's run with --validation: the held-out rows' figures after the last epoch", () => {
  const table = { epoch: 3, epochs: 40, step: 7, steps: 15, loss: 0.08123, samplesPerSecond: 9120.2, secondsLeft: 2.4 };

  test('formatProgress: loss and accuracy for classes, MSE and MAE for values; they go after the speed', () => {
    expect(formatProgress({ ...table, validation: { loss: 0.18204, accuracy: 0.98246 } }, 120)).toBe(
      'Epoch 3/40 [==============>               ] 7/15  loss 0.0812  val loss 0.1820 acc 98.25 %  9,120 img/s  ETA 0:02',
    );
    expect(formatProgress({ ...table, validation: { loss: 0.21134, mse: 0.21134, mae: 0.331 } }, 120)).toBe(
      'Epoch 3/40 [==============>               ] 7/15  loss 0.0812  val MSE 0.2113 MAE 0.3310  9,120 img/s  ETA 0:02',
    );
    expect(formatProgress({ ...table, validation: { loss: 0.18204, accuracy: 0.98246 } }, 90)).toBe(
      'Epoch 3/40 [========>          ] 7/15  loss 0.0812  val loss 0.1820 acc 98.25 %  ETA 0:02',
    );
    expect(formatProgress({ ...table, validation: { loss: 0.18204, accuracy: 0.98246 } }, 72)).toBe('Epoch 3/40 [==============>               ] 7/15  loss 0.0812  ETA 0:02');
  });

  test('the terminal reporter: the epoch line with the validation figures above, and the bar showing them from then on', () => {
    const t = fakeTerminal(120);
    const out = withTerminalReporter(t, (reporter) => {
      reporter.emit({ event: 'start', sizes: [4, 8, 1], backend: 'cpu', epochs: 2, batchSize: 10, lr: 0.01, seed: 0, stepsPerEpoch: 2, trainImages: 20, testImages: 5 });
      for (let epoch = 0; epoch < 2; epoch++) {
        for (let step = 0; step < 2; step++) {
          t.advance(250);
          reporter.progress({ epoch, step, loss: 0.5, batchSize: 10 });
        }
        reporter.emit({ event: 'epoch', epoch: epoch + 1, epochs: 2, seconds: 0.5, meanLoss: 0.5, samplesPerSecond: 40, lr: 0.01, validation: { loss: 0.4 - epoch / 10, mse: 0.4 - epoch / 10, mae: 0.5 } });
      }
      reporter.close();
    });
    expect(out).toEqual([
      'Epoch [1/2], Loss: 0.5000, validation loss: 0.4000, MSE 0.40000, MAE 0.50000',
      'Epoch [2/2], Loss: 0.5000, validation loss: 0.3000, MSE 0.30000, MAE 0.50000',
    ]);
    const bars = t.writes.filter((w) => w.startsWith('\r\x1b[2KEpoch '));
    expect(bars.map((w) => /val MSE [^ ]+ MAE [^ ]+/.exec(w)?.[0] ?? null)).toEqual([
      null, null, // epoch 1: none measured yet
      'val MSE 0.4000 MAE 0.5000', // redrawn under epoch 1's line
      'val MSE 0.4000 MAE 0.5000', 'val MSE 0.4000 MAE 0.5000',
      'val MSE 0.3000 MAE 0.5000', // under epoch 2's line
    ]);
  });
});
