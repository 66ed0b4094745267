// `fcnet bench` (`npm run bench` in the repository): each kernel of a training step and whole steps, per backend,
// with native/pure-JS ratios; `--compare-pytorch` adds PyTorch on the same job, run back to back. A terminal
// table, JSON and markdown.
import * as os from 'os';
import * as fs from 'fs';
import { backends } from '../backends';
import { jsKernels } from '../backends/js-kernels';
import { nativeCpuKernels } from '../backends/native-cpu';
import type { BackendName } from '../backends/types';
import type { Dataset } from '../data/dataset';
import { loadNative, type NativeAddon } from '../binding';
import { writeFileAtomic } from '../checkpoint/atomic-write';
import { loadMnist, mnistDataPackageDir } from '../data/mnist';
import { benchKernels, type KernelResult } from '../bench/kernels';
import { benchPytorch, type PytorchResult } from '../bench/pytorch';
import { benchSteps, EpochTimer, type StepEngine, type StepResult } from '../bench/steps';
import { runSuite, suiteTables, type SuiteResult } from '../bench/suite';
import { integer, listOf, oneOf, text, UsageError, type OptionSpec } from './args';
import type { CommandInput, CommandSpec } from './command';
import { checkOutputFile } from './outputs';

const backendNames: readonly BackendName[] = ['cpu', 'js', 'cuda'];

const options: OptionSpec[] = [
  { flags: '--backends <list>', description: 'backends to measure, e.g. cpu,js', parse: listOf(oneOf(backendNames), `a comma-separated list of ${backendNames.join(', ')}`), defaultText: 'every available one' },
  { flags: '--repeats <n>', description: 'samples per measurement, after a warm-up', parse: integer(1, 1e6), default: 15 },
  { flags: '--batch <n>', description: 'batch size', parse: integer(1, 60000), default: 100 },
  { flags: '--hidden <n>', description: 'hidden width', parse: integer(1, 1 << 24), default: 500 },
  { flags: '--threads <n>', description: 'CPU threads for the native backend', parse: integer(1, 64), defaultText: 'one per core' },
  { flags: '--epochs <n>', description: 'real fit() epochs to time for cpu/cuda (0 skips)', parse: integer(0, 1000), default: 3 },
  {
    flags: '--compare-pytorch',
    description: "also time PyTorch (/usr/bin/python3 with torch) on the same job: 1 and 2 threads, as shipped and with glibc's " +
      "malloc tuned; fcnet's epochs are timed again before, between and after them",
  },
  {
    flags: '--suite',
    description: "with --compare-pytorch: instead, the workloads of issue 13's table (deeper, wider, dense, batch 1000, a small " +
      'network, normalised MNIST), fcnet and PyTorch (malloc tuned, 1 and 2 threads) taking turns, --repeats samples each (default 3); about a minute and a half',
  },
  { flags: '--json <file>', description: 'where to write the results as JSON', parse: text, default: 'bench-results.json', defaultText: 'bench-results.json' },
  { flags: '--markdown <file>', description: 'where to write the README tables', parse: text, default: 'bench-results.md', defaultText: 'bench-results.md' },
];

interface Results {
  date: string;
  machine: { cpu: string; cores: number; node: string; blas: string; tileVectorFloats: number | null };
  settings: { batch: number; hidden: number; repeats: number; threads: number };
  kernels: Record<string, KernelResult[]>;
  steps: StepResult[];
  epochs: Record<string, { secondsPerEpoch: number; epochs: number[] }>;
  pytorch?: PytorchResult;
}

/** Floats per vector in the sparse first layer's tiles (16: AVX-512, 8: AVX2), read off a throwaway Network. */
function tileVectorFloats(native: NativeAddon): number {
  const network = new native.Network({ sizes: Int32Array.of(784, 16, 10), activation: 'relu', negativeSlope: 0, dropout: 0,
    loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null }, 1, 1);
  try {
    return network.vectorFloats;
  } finally {
    network.dispose();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

function markdown(rows: string[][]): string {
  return [rows[0], rows[0].map((_, c) => (c === 0 ? '---' : '---:')), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const ms = (x: number) => (x < 0.1 ? x.toFixed(4) : x < 10 ? x.toFixed(3) : x.toFixed(1));
const gflops = (k: KernelResult) => (k.flops ? (k.flops / (k.medianMs * 1e6)).toFixed(1) : '');

function kernelRows(r: Results): string[][] {
  const names = Object.keys(r.kernels);
  const header = ['kernel (median of one call)', ...names.flatMap((b) => [`${b} ms`, `${b} GFLOP/s`])];
  if (names.includes('cpu') && names.includes('js')) header.push('cpu speed-up over js');
  const rows = r.kernels[names[0]].map((k, i) => {
    const row = [k.name, ...names.flatMap((b) => [ms(r.kernels[b][i].medianMs), gflops(r.kernels[b][i])])];
    if (names.includes('cpu') && names.includes('js')) row.push(`${(r.kernels.js[i].medianMs / r.kernels.cpu[i].medianMs).toFixed(1)}×`);
    return row;
  });
  return [header, ...rows];
}

function stepRows(r: Results): string[][] {
  const js = r.steps.find((s) => s.engine === 'js');
  const header = ['training step (batch ' + r.settings.batch + ')', 'ms', 'steps/s', 's/epoch (600 × step)', 's/epoch (fit, measured)'];
  if (js) header.push('speed-up over js');
  return [
    header,
    ...r.steps.map((s) => {
      const backend = s.engine.split(' ')[0];
      const measured = r.epochs[s.engine.startsWith('cpu (fused') ? 'cpu' : backend];
      const row = [s.engine, ms(s.medianMs), s.stepsPerSecond.toFixed(0), s.secondsPerEpochFromSteps.toFixed(2), measured && !s.engine.includes('BLAS') ? measured.secondsPerEpoch.toFixed(2) : ''];
      if (js) row.push(`${(js.medianMs / s.medianMs).toFixed(1)}×`);
      return row;
    }),
  ];
}

function phaseRows(r: Results): string[][] | null {
  const cpu = r.steps.find((s) => s.phasesMs);
  if (!cpu?.phasesMs) return null;
  const total = cpu.phasesMs['whole step (mean of these 300)'];
  return [['where a cpu step goes (300 steps)', 'ms', 'share'], ...Object.entries(cpu.phasesMs).map(([k, v]) => [k, ms(v), `${((100 * v) / total).toFixed(0)} %`])];
}

function pytorchRows(r: Results): string[][] | null {
  const p = r.pytorch;
  const fc = r.epochs.cpu;
  if (!p?.available || !fc) return null;
  const rows = [['one epoch of the reference job (60,000 images, batch 100, Adam)', 'median s/epoch']];
  for (const [label, s] of Object.entries(p.secondsPerEpoch!)) rows.push([`PyTorch ${p.version}, data pre-loaded, ${label}`, s.toFixed(2)]);
  rows.push([`fcnet cpu, fit(), ${r.settings.threads} threads (${fc.epochs.length} epochs, before, between and after PyTorch's)`, fc.secondsPerEpoch.toFixed(2)]);
  rows.push([`fcnet speed-up over PyTorch's best (${p.best})`, `${(p.bestSecondsPerEpoch! / fc.secondsPerEpoch).toFixed(2)}×`]);
  return rows;
}

async function benchRun({ options: o, argv, given }: CommandInput): Promise<void> {
  const available = backends().filter((b) => b.available).map((b) => b.name);
  const asked = (o.backends as BackendName[] | undefined) ?? available;
  const missing = asked.filter((b) => !available.includes(b));
  if (missing.length) throw new Error(`backend ${missing.join(', ')} is not available here: ${backends().filter((b) => missing.includes(b.name)).map((b) => b.detail).join('; ')}`);
  const repeats = o.repeats as number, batch = o.batch as number, hidden = o.hidden as number, epochs = o.epochs as number;
  const threads = (o.threads as number | undefined) ?? os.availableParallelism();
  const jsonPath = o.json as string;
  const mdPath = o.markdown as string;
  checkOutputFile(jsonPath, '--json'); // a minute of measuring must not end in a file that cannot be written
  checkOutputFile(mdPath, '--markdown');
  if (o.suite && !o.comparePytorch) throw new UsageError('--suite compares fcnet with PyTorch: add --compare-pytorch');
  const mnist = loadMnist();
  const native = loadNative().addon;
  if (o.suite) return suiteCommand([...argv], native, mnist.train, threads, given('repeats') ? repeats : 3, jsonPath, mdPath);
  const results: Results = {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version, blas: native ? native.gemmInfo().config.trim() : 'none', tileVectorFloats: native ? tileVectorFloats(native) : null },
    settings: { batch, hidden, repeats, threads },
    kernels: {},
    steps: [],
    epochs: {},
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  for (const b of asked.filter((b) => b !== 'cuda')) {
    log(`kernels on ${b} ...`);
    results.kernels[b] = benchKernels(b === 'cpu' ? nativeCpuKernels() : jsKernels, mnist.train, hidden, batch, repeats);
  }
  const stepEngines: StepEngine[] = asked.flatMap((b): StepEngine[] => (b === 'cpu' ? ['cpu', 'cpu-dense'] : [b]));
  for (const e of stepEngines) {
    log(`training steps on ${e} ...`);
    results.steps.push(benchSteps(e, mnist.train, hidden, batch, e === 'js' ? Math.min(repeats, 5) : repeats, threads));
  }
  const timers: Partial<Record<BackendName, EpochTimer>> = {};
  for (const b of asked.filter((b) => b !== 'js')) {
    if (epochs < 1) break;
    log(`${epochs} epochs of fit() on ${b} ...`);
    timers[b] = new EpochTimer(b, mnist.train, hidden, batch, threads);
    await timers[b]!.run(epochs);
  }
  if (o.comparePytorch) {
    // fcnet's cpu epochs again before, between and after PyTorch's settings (two each time): the machine is shared,
    // and a busy spell that fell on only one side would skew the ratio.
    const cpu = timers.cpu;
    const between = async () => {
      if (!cpu) return;
      log('2 epochs of fit() on cpu ...');
      await cpu.run(2);
    };
    results.pytorch = await benchPytorch(mnistDataPackageDir() ?? '', Math.max(epochs, 2), log, between);
    if (!results.pytorch.available) log(`PyTorch skipped: ${results.pytorch.reason}`);
  }
  for (const [b, timer] of Object.entries(timers) as [BackendName, EpochTimer][]) {
    results.epochs[b] = timer.result;
    timer.dispose();
  }
  const sections = [kernelRows(results), stepRows(results), phaseRows(results), pytorchRows(results)].filter((s): s is string[][] => s !== null);
  const tiles = results.machine.tileVectorFloats ? `, sparse tiles on ${results.machine.tileVectorFloats === 16 ? 'AVX-512' : 'AVX2'} vectors` : '';
  const machine = `${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.machine.blas}${tiles}`;
  console.log(`fcnet benchmark: ${machine}; batch ${batch}, hidden ${hidden}, ${threads} threads, median of ${repeats} samples\n`);
  console.log(sections.map(table).join('\n\n'));
  writeFileAtomic(jsonPath, JSON.stringify(results, null, 2) + '\n');
  writeFileAtomic(mdPath, `Measured ${results.date.slice(0, 10)} on ${machine} with \`npm run bench${argv.length > 0 ? ' -- ' + argv.join(' ') : ''}\`.\n\n` + sections.map(markdown).join('\n\n') + '\n');
  log(`\nwrote ${jsonPath} and ${mdPath}`);
}

/** The normalised row against raw MNIST timed in turns with it. */
function normalisedNote(result: SuiteResult): string[] {
  const row = result.rows.find((r) => r.untransformed);
  const ratio = result.normalisedOverRaw;
  if (!row || ratio === undefined) return [];
  const more = `${(100 * Math.abs(ratio - 1)).toFixed(1)} % ${ratio >= 1 ? 'more' : 'less'}`;
  return [`fcnet on normalised MNIST takes ${more} time than on raw MNIST timed in turns with it (${row.fcnet.median.toFixed(3)} against ` +
    `${row.untransformed!.median.toFixed(3)} s/epoch; the median of the rounds' ratios; target: at most 15 % more)`];
}

/** `--compare-pytorch --suite`: issue 13's table, fcnet and PyTorch taking turns. */
async function suiteCommand(argv: string[], native: NativeAddon | null, mnist: Dataset, threads: number, repeats: number,
  jsonPath = 'bench-results.json', mdPath = 'bench-results.md'): Promise<void> {
  if (!native) throw new Error(`the suite times the cpu backend, which is not available here: ${loadNative().error!.message}`);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const result = await runSuite(native, mnist, threads, repeats, log);
  if (!result.available) throw new Error(`the suite needs PyTorch: ${result.reason}`);
  const machine = `${os.cpus()[0]?.model ?? 'unknown'}, ${os.availableParallelism()} cores, Node ${process.version}, ${native.gemmInfo().config.trim()}`;
  const head = `fcnet bench suite: ${machine}; PyTorch ${result.torch}; medians of ${repeats} samples a side, taken in turns`;
  const notes = [
    `OpenBLAS sgemm 1024×1024×1024 on 2 threads: ${result.blasGflops!.toFixed(1)} GFLOP/s (the products' large-matrix figure)`,
    ...normalisedNote(result),
  ];
  const sections = suiteTables(result, threads);
  console.log(`${head}\n\n${sections.map(table).join('\n\n')}\n\n${notes.join('\n')}`);
  writeFileAtomic(jsonPath, JSON.stringify({ date: new Date().toISOString(), machine, threads, repeats, suite: result }, null, 2) + '\n');
  writeFileAtomic(mdPath, `Measured ${new Date().toISOString().slice(0, 10)} on ${machine} with \`fcnet bench ${argv.join(' ')}\`.\n\n` + sections.map(markdown).join('\n\n') + '\n\n' + notes.join('\n\n') + '\n');
  log(`\nwrote ${jsonPath} and ${mdPath}`);
}

export const benchSpec: CommandSpec = {
  name: 'bench',
  summary: 'time the kernels, training steps and epochs of every backend (--compare-pytorch: and PyTorch)',
  description: `Times each kernel of a training step, whole steps and epochs of fit() on every backend, side by side. In the repository, \`npm run bench -- [options]\` is the same.`,
  options,
  run: benchRun,
};
