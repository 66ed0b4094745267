// What an engine that runs only Adam inside its step does with a StepHyper.
import type { AdamHyper, OptimizerKind, StepHyper } from './types';

/** The Adam hyper-parameters of `hyper`; throws when it names an optimizer the engine does not run fused. */
export function adamOnly(hyper: StepHyper, fused: readonly OptimizerKind[]): AdamHyper {
  const kind = hyper.kind ?? 'adam';
  if (kind !== 'adam') {
    throw new RangeError(`Expected one of ${fused.map((k) => `'${k}'`).join(', ')} for hyper.kind but received '${kind}' (this engine steps ${kind} on the host after computeGradients)`);
  }
  return hyper as AdamHyper;
}
