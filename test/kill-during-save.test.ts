// Crashes during a save: a child process saves training checkpoints (1.6 MB each) to one path in a loop and is
// SIGKILLed at random moments, 30 times. After every kill the file holds one whole save, the latest or an earlier
// one, and loads and validates; the temporary files a killed save leaves are counted, and never stop a later save.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadTrainingCheckpoint } from '../lib/checkpoint';
import { Rng } from '../lib/rng';
import { compiledLib } from './support/compiled';

const KILLS = 30;

/** Starts the saving child and resolves once its first save is on disk. */
function startSaver(lib: string, file: string, firstK: number): Promise<ReturnType<typeof spawn>> {
  const child = spawn(process.execPath, [path.join(__dirname, 'support', 'save-checkpoints.js'), lib, file, String(firstK)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code, signal) => reject(new Error(`the saving child ended before its first save (${code ?? signal}): ${stderr}`)));
  });
}

/** Which save k the file holds, after checking it is whole: every value of every tensor says the same k. */
function savedK(file: string): number {
  const checkpoint = loadTrainingCheckpoint(file);
  const k = checkpoint.position.step;
  const value = Math.fround((k % 1000) / 1000);
  const arrays = [...Object.values(checkpoint.parameters).map((t) => t.data), ...Object.values(checkpoint.adam!.state).flatMap((s) => [s.exp_avg, s.exp_avg_sq])];
  for (const data of arrays) {
    const bad = data.findIndex((x) => x !== value);
    if (bad >= 0) throw new Error(`${file}: save ${k} holds ${data[bad]} at index ${bad} where ${value} belongs: parts of two saves`);
  }
  expect(checkpoint.adam!.state[0].step).toBe(k);
  return k;
}

test(`${KILLS} SIGKILLs during saves: the checkpoint always loads whole, and leftovers never stop a later save`, async () => {
  const lib = compiledLib();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-kill-'));
  const file = path.join(dir, 'run.ckpt.safetensors');
  const rng = new Rng(8, 1);
  let k = 0;
  let survived = 0;
  const delays: number[] = [];
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const child = await startSaver(lib, file, k + 1);
      const delay = 5 + rng.nextInt(76); // 5–80 ms into the saving loop
      delays.push(delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const now = savedK(file);
      expect(now).toBeGreaterThanOrEqual(k + 1); // the first save of this child, or a later one
      k = now;
      survived++;
    }
    const leftovers = fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));
    // A later save, with the leftovers still there: temporary names are unique, so none is in its way.
    const child = await startSaver(lib, file, k + 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(savedK(file)).toBeGreaterThan(k);
    console.log(`kill during save: ${survived} of ${KILLS} SIGKILLs survived (delays ${Math.min(...delays)}–${Math.max(...delays)} ms); ` +
      `the file always loaded whole, last at save ${k}; ${leftovers.length} temporary files left by killed saves (${(leftovers.length / KILLS * 100).toFixed(0)} % of kills), none in a later save's way`);
    expect(survived).toBe(KILLS);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
