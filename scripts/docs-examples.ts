// `npm run docs:examples`: the quoted command-line outputs of the docs, remade from the current build. Every
// fenced block right after a `<!-- example -->` line in README.md and docs/*.md is a session: `$ command` lines,
// each followed by what it printed (stdout and stderr as a terminal shows them, interleaved). The script runs
// each command (`fcnet` and `npx fcnet` are `node dist/lib/cli/main.js`; `npm run train --` is `fcnet train`;
// `echo $?` prints the last exit code) in a scratch folder and writes the output into the block. A quoted line
// `...` stands for any lines and `...` inside a line for any text: the docs keep their elisions. It also
// redraws docs/plots/*.svg (`fcnet train --plots docs/plots`).
//
// `--check` writes nothing: it compares each block with a fresh run, timings and thread counts masked, and
// exits 1 on a difference (test/docs-examples.test.ts). `<!-- example, after: COMMAND -->` runs COMMAND first,
// unquoted (e.g. the training run whose model an `fcnet eval` example reads).
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { loadMnistTestSet } from '../lib/data/mnist';
import { packageRoot } from '../lib/package-root';

const root = packageRoot();
export const DOC_FILES = ['README.md', 'docs/cli.md', 'docs/checkpoints.md'];
const MARK = /^<!-- example(?:, after: (.+))? -->$/;
const PLOTS = 'docs/plots';

interface Command {
  /** The `$ ...` line, without the `$ `. */
  line: string;
  /** What the docs quote as its output. */
  quoted: string[];
}

interface Example {
  file: string;
  /** Index of the block's first line after the opening fence, and of the closing fence. */
  start: number;
  end: number;
  setup: string | undefined;
  commands: Command[];
}

/** The marked blocks of `text`. */
export function findExamples(file: string, text: string): Example[] {
  const lines = text.split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const mark = MARK.exec(lines[i].trim());
    if (!mark || !lines[i + 1]?.startsWith('```')) continue;
    const start = i + 2;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end++;
    const commands: Command[] = [];
    for (const line of lines.slice(start, end)) {
      if (line.startsWith('$ ')) commands.push({ line: line.slice(2), quoted: [] });
      else if (commands.length === 0) throw new Error(`${file}:${start + 1}: an example block starts with its \`$ command\` line`);
      else commands[commands.length - 1].quoted.push(line);
    }
    examples.push({ file, start, end, setup: mark[1], commands });
    i = end;
  }
  return examples;
}

/** What differs from run to run or machine to machine: timings, speeds, thread counts; each with its mask. */
const VARYING: [RegExp, string][] = [
  [/\b\d+(\.\d+)? s\b/g, '# s'],
  [/"(seconds|samplesPerSecond)":[-\d.e+]+/g, '"$1":#'],
  [/[\d,]+ img\/s/g, '# img/s'],
  [/ETA [\d:-]+/g, 'ETA #'],
  [/\b\d+ threads?\b/g, '# threads'],
];

/** `line` with what varies masked. */
export function mask(line: string): string {
  return VARYING.reduce((l, [pattern, masked]) => l.replace(pattern, masked), line);
}

/**
 * `line` (new output) with the timings of `quoted` (the docs) where it has the same ones: the docs keep the
 * figures measured on a quiet machine, and a busy machine's rerun changes only what really changed.
 */
function keepQuotedTimings(line: string, quoted: string): string {
  if (mask(line) === mask(quoted)) return quoted;
  let kept = line;
  for (const [pattern] of VARYING) {
    const old = quoted.match(pattern) ?? [];
    const now = kept.match(pattern) ?? [];
    if (old.length !== now.length) continue;
    let i = 0;
    kept = kept.replace(pattern, () => old[i++]);
  }
  return kept;
}

interface Session {
  cwd: string;
  cli: string;
  lastStatus: number;
}

/** Runs one `$` line as a shell would show it; returns its output lines. */
function runLine(session: Session, line: string): string[] {
  if (line === 'echo $?') return [String(session.lastStatus)];
  let words = line.split(/\s+/);
  const quietStderr = words.includes('2>/dev/null');
  words = words.filter((w) => w !== '2>/dev/null');
  if (words[0] === 'npx') words = words.slice(1);
  if (words[0] === 'npm' && words[1] === 'run' && words[2] === 'train') words = ['fcnet', 'train', ...words.slice(words[3] === '--' ? 4 : 3)];
  if (words[0] !== 'fcnet') throw new Error(`cannot run \`${line}\`: examples run fcnet commands (and echo $?) only`);
  const file = join(session.cwd, '.output');
  const fd = openSync(file, 'w');
  try {
    // One file for stdout and stderr: each write lands in the order it was made, as on a terminal.
    const r = spawnSync(process.execPath, [session.cli, ...words.slice(1)], { cwd: session.cwd, stdio: ['ignore', fd, quietStderr ? 'ignore' : fd] });
    session.lastStatus = r.status ?? 128;
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(file, 'utf8');
  return out.endsWith('\n') ? out.slice(0, -1).split('\n') : out.split('\n');
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A pattern for the quoted lines over the masked output: `...` lines are gaps, `...` in a line any text.
 * `loose` also lets every decimal number differ (losses, accuracies: to find where the new ones go when the docs
 * are rewritten); integers such as step numbers stay exact, so a line is not matched to its neighbour.
 */
function quotedPattern(quoted: string[], loose: boolean): RegExp {
  const parts = quoted.map((line) => {
    if (line.trim() === '...') return '(?:[^\\n]*\\n)*?';
    let p = escape(mask(line)).replace(/\\\.\\\.\\\./g, '[^\\n]*?');
    if (loose) p = p.replace(/\d+\\\.\d+(?:e[-+]?\d+)?/g, '-?\\d+\\.\\d+(?:e[-+]?\\d+)?'); // integers (steps, counts) still anchor
    return `(${p})\\n`;
  });
  return new RegExp(`^${parts.join('')}$`, 'd'); // d: the groups' offsets, to find each quoted line's output line
}

/** The output lines at each quoted line (null where the quote is kept: a gap or a line with `...`), or null on no match. */
export function placeOutput(quoted: string[], output: string[], loose: boolean): (string | null)[] | null {
  const masked = output.map(mask);
  const match = quotedPattern(quoted, loose).exec(masked.map((l) => `${l}\n`).join(''));
  if (!match) return null;
  // The output line each captured group starts at, by its offset in the masked text.
  const starts = new Map<number, number>();
  let offset = 0;
  masked.forEach((l, i) => {
    starts.set(offset, i);
    offset += l.length + 1;
  });
  let group = 1;
  return quoted.map((line) => {
    if (line.trim() === '...') return null;
    const at = match.indices![group++]![0];
    return line.includes('...') ? null : output[starts.get(at)!]; // the unmasked line: real timings in the docs
  });
}

export interface Difference {
  where: string;
  command: string;
  quoted: string[];
  output: string[];
}

/** Makes the scratch folder: the repository's files by link (examples may name them), its own docs/plots and seven.png. */
function scratchFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fcnet-docs-examples-'));
  const made = new Set(['docs', '.git', 'model.safetensors', 'plots', 'run.ckpt', 'seven.png', 'bench-results.json', 'bench-results.md']);
  for (const entry of readdirSync(root)) if (!made.has(entry)) symlinkSync(join(root, entry), join(dir, entry));
  mkdirSync(join(dir, PLOTS), { recursive: true });
  // MNIST's first test image, a 7, black on white: the picture the README's predict example makes.
  const test = loadMnistTestSet();
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) {
    const v = 255 - test.images[i];
    png.data.set([v, v, v, 255], 4 * i);
  }
  writeFileSync(join(dir, 'seven.png'), PNG.sync.write(png));
  return dir;
}

/**
 * Runs every example. With `write`, puts the outputs into the docs and redraws docs/plots; else returns where
 * the docs differ from the current build.
 */
export function runExamples(write: boolean, log: (s: string) => void = () => {}): { commands: number; differences: Difference[] } {
  const cli = join(root, 'dist', 'lib', 'cli', 'main.js');
  const session: Session = { cwd: scratchFolder(), cli, lastStatus: 0 };
  const differences: Difference[] = [];
  let commands = 0;
  try {
    for (const file of DOC_FILES) {
      const text = readFileSync(join(root, file), 'utf8');
      const lines = text.split('\n');
      const blocks: { example: Example; block: string[] }[] = [];
      for (const example of findExamples(file, text)) {
        if (example.setup) runLine(session, example.setup);
        const block: string[] = [];
        for (const command of example.commands) {
          log(`$ ${command.line}`);
          const output = runLine(session, command.line);
          commands++;
          const exact = placeOutput(command.quoted, output, false);
          if (!exact) differences.push({ where: `${file}:${example.start}`, command: command.line, quoted: command.quoted, output });
          const placed = exact ?? placeOutput(command.quoted, output, true);
          const kept = placed ? command.quoted.map((q, i) => (placed[i] === null ? q : keepQuotedTimings(placed[i]!, q))) : output; // no fit: all of it
          block.push(`$ ${command.line}`, ...kept);
        }
        blocks.push({ example, block });
      }
      // Run in the order of the text (a later example may read what an earlier one wrote), replaced from the end.
      for (const { example, block } of blocks.reverse()) lines.splice(example.start, example.end - example.start, ...block);
      if (write) writeFileSync(join(root, file), lines.join('\n'));
    }
    if (write) {
      log(`$ fcnet train --plots ${PLOTS}`);
      runLine(session, `fcnet train --plots ${PLOTS}`);
      for (const svg of readdirSync(join(session.cwd, PLOTS))) copyFileSync(join(session.cwd, PLOTS, svg), join(root, PLOTS, svg));
    }
  } finally {
    rmSync(session.cwd, { recursive: true, force: true });
  }
  return { commands, differences };
}

if (require.main === module) {
  const check = process.argv.includes('--check');
  const { differences } = runExamples(!check, (s) => process.stderr.write(`${s}\n`));
  for (const d of differences) {
    console.log(`${d.where}: \`${d.command}\` ${check ? 'differs' : 'changed'}:\n--- quoted\n${d.quoted.join('\n')}\n--- now\n${d.output.join('\n')}\n`);
  }
  if (check) process.exitCode = differences.length ? 1 : 0;
  else console.log(`docs:examples: ${differences.length} example(s) rewritten, ${PLOTS}/*.svg redrawn`);
}
