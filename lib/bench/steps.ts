// Whole training steps (gather, forward, loss, backward, Adam) and whole epochs through fit(), per engine.
import { Adam } from '../adam';
import { HostEngine } from '../backends/host-engine';
import { nativeCpuKernels } from '../backends/native-cpu';
import { CpuEngine } from '../backends/cpu-engine';
import type { BackendName, Engine } from '../backends/types';
import type { Dataset } from '../data/dataset';
import { MLP } from '../model';
import { fit } from '../train';
import { requireNative } from '../binding';
import { measure, median } from './measure';

export interface StepResult {
  engine: string;
  medianMs: number;
  stepsPerSecond: number;
  /** 600 steps of the median (for batch 100), the epoch without loop overhead. */
  secondsPerEpochFromSteps: number;
  /** Time per phase of the median step, where the engine reports it. */
  phasesMs?: Record<string, number>;
}

const hyper = { lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export type StepEngine = BackendName | 'cpu-dense';

function engineFor(kind: StepEngine, hidden: number, B: number, threads: number): { model: MLP; engine: Engine } {
  const sizes = [784, hidden, 10];
  if (kind === 'cpu-dense') {
    const model = new MLP({ sizes, backend: 'js' }); // its buffers only
    return { model, engine: new HostEngine('cpu', nativeCpuKernels(requireNative()), model.spec, model.buffers, B) };
  }
  const model = new MLP({ sizes, backend: kind, threads });
  return { model, engine: model.engine(B) };
}

export function benchSteps(kind: StepEngine, data: Dataset, hidden: number, B: number, repeats: number, threads: number): StepResult {
  const { engine } = engineFor(kind, hidden, B, threads);
  const handle = engine.attachDataset(data.images, data.labels, data.n, data.d, data.cols);
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const stepsPerEpoch = Math.ceil(data.n / B);
  let step = 0;
  const runStep = () => {
    engine.trainBatch(handle, order, (step % stepsPerEpoch) * B, Math.min(B, data.n - (step % stepsPerEpoch) * B), hyper, step + 1, kind === 'cuda' && step % 100 === 99);
    step++;
  };
  const timing = measure(runStep, repeats, 300, 20);
  const result: StepResult = {
    engine: kind === 'cpu' ? 'cpu (native engine)' : kind === 'cpu-dense' ? 'cpu (BLAS kernels)' : kind,
    medianMs: timing.medianMs,
    stepsPerSecond: 1000 / timing.medianMs,
    secondsPerEpochFromSteps: (stepsPerEpoch * timing.medianMs) / 1000,
  };
  if (engine instanceof CpuEngine) result.phasesMs = phaseBudget(engine, runStep);
  engine.dispose();
  return result;
}

/** Where the time of a native step goes: its phases, timed inside the addon, and the rest (JS, N-API, loop) by difference. */
function phaseBudget(engine: CpuEngine, runStep: () => void): Record<string, number> {
  const steps = 300;
  engine.takePhaseSeconds();
  const start = performance.now();
  for (let i = 0; i < steps; i++) runStep();
  const wallMs = (performance.now() - start) / steps;
  const ms = (seconds: number) => (1000 * seconds) / steps;
  const p = engine.takePhaseSeconds();
  const phases: Record<string, number> = {
    'gather the batch': ms(p.gather),
    'forward: first layer (sparse when the batch is), the rest, loss, output layer\'s input gradient': ms(p.forward),
    'backward: weight gradients, input gradients; inputs by column': ms(p.backward),
    'first layer\'s weight gradient (sparse)': ms(p.sparseGradient),
    Adam: ms(p.adam),
  };
  const inside = Object.values(phases).reduce((a, b) => a + b, 0);
  return { ...phases, 'JS, N-API and loop overhead': Math.max(0, wallMs - inside), 'whole step (mean of these 300)': wallMs };
}

/** Seconds per epoch of the real training loop, fit(), on one model that can be timed again later. */
export class EpochTimer {
  private readonly model: MLP;
  private readonly optimizer: Adam;
  /** Every epoch timed so far, in order. */
  readonly seconds: number[] = [];

  constructor(backend: BackendName, private readonly data: Dataset, hidden: number, private readonly B: number, threads: number) {
    this.model = new MLP({ sizes: [784, hidden, 10], backend, threads });
    this.optimizer = new Adam(this.model);
  }

  async run(epochs: number): Promise<void> {
    await fit(this.model, this.optimizer, this.data, { epochs, batchSize: this.B, onEpoch: (e) => { this.seconds.push(e.seconds); } });
  }

  get result(): { secondsPerEpoch: number; epochs: number[] } {
    return { secondsPerEpoch: median(this.seconds), epochs: [...this.seconds] };
  }

  dispose(): void {
    this.model.engine().dispose();
  }
}
