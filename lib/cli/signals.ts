// SIGINT (Ctrl-C), SIGTERM (kill, process managers, `docker stop`) and SIGHUP (the terminal closed) all stop a
// training run the same way: after the current step, with a checkpoint when one was asked for, never with a
// half-trained network over --output; the process then exits with 128 + the signal's number, as shells do.
import { constants } from 'node:os';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** A run stopped by a signal (or by a test's AbortSignal, which stands for SIGINT). */
export class Interrupted extends Error {
  constructor(
    readonly signal: StopSignal,
    message: string,
  ) {
    super(message);
  }

  /** 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
  get exitCode(): number {
    return 128 + constants.signals[this.signal];
  }
}

/** What stops a run: the first signal received, or the caller's AbortSignal. */
export interface StopRequest {
  /** Aborted once a stop is asked for. */
  readonly signal: AbortSignal;
  /** Which signal asked; SIGINT for the caller's AbortSignal. */
  readonly by: StopSignal | undefined;
  /** Stops listening (the handlers are removed; signals act as Node's defaults again). */
  dispose(): void;
}

/**
 * Listens for the stop signals while a run trains. The first one aborts `signal` and `note`s what will
 * happen; a second (of any of them) ends the process at once, by that signal, as if fcnet had not listened.
 */
export function listenForStop(note: (signal: StopSignal) => void, interrupt?: AbortSignal): StopRequest {
  const controller = new AbortController();
  let by: StopSignal | undefined;
  const handlers = new Map<StopSignal, () => void>();
  const dispose = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of STOP_SIGNALS) {
    const handler = (): void => {
      if (by !== undefined) {
        dispose();
        process.kill(process.pid, signal); // no listener left: Node's default, the process ends by the signal
        return;
      }
      by = signal;
      note(signal);
      controller.abort();
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  interrupt?.addEventListener('abort', () => {
    by ??= 'SIGINT';
    controller.abort();
  });
  return {
    signal: controller.signal,
    get by() {
      return by;
    },
    dispose,
  };
}
