// What a command prints: console.log (stdout) and console.error (stderr) lines, caught instead of shown.

export interface Captured<T> {
  stdout: string[];
  stderr: string[];
  /** What `body` resolved to, or undefined when it threw. */
  result?: T;
  /** What `body` threw, if it did. */
  error?: Error;
}

/** Runs `body` with console.log and console.error caught; `onLine` sees each stdout line as it comes. */
export async function captureConsole<T>(body: () => Promise<T>, onLine: (line: string) => void = () => {}): Promise<Captured<T>> {
  const captured: Captured<T> = { stdout: [], stderr: [] };
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    const line = args.map(String).join(' ');
    captured.stdout.push(line);
    onLine(line);
  });
  const error = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    captured.stderr.push(args.map(String).join(' '));
  });
  try {
    captured.result = await body();
  } catch (thrown) {
    captured.error = thrown as Error;
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  return captured;
}
