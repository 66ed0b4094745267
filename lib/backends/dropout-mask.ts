// Dropout's keep/drop decisions from a counter-based hash, so every backend and any thread count draw the
// same mask without sharing a generator: the decision for one value depends only on (seed, step, layer, index).
// The hash is Chris Wellons' lowbias32 (https://nullprogram.com/blog/2018/07/31/), nested once per coordinate;
// the native engines compute the same expression (ENGINE-SPEC.md, "Dropout").

/** lowbias32: a 32-bit integer hash with low bias; all arithmetic on uint32. */
export function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Whether dropout keeps value `index` (= row·O + unit, row = position in the batch) of hidden layer `layer`
 * (0-based) at optimizer step `step` (1-based, low 32 bits) of a fit seeded `seed`: u = the hash's top 24 bits
 * as a fraction in [0, 1), kept when u ≥ p, so a value is kept with probability 1 − p.
 */
export function dropoutKeeps(seed: number, step: number, layer: number, index: number, p: number): boolean {
  const u = lowbias32(seed ^ lowbias32(step ^ lowbias32(layer ^ lowbias32(index))));
  return (u >>> 8) * 5.9604644775390625e-8 >= p; // 2⁻²⁴
}

/** mask(B·O) ∈ {0, 1} for hidden layer `layer` of one step, from the hash. */
export function fillDropoutMask(mask: Uint8Array, seed: number, step: number, layer: number, B: number, O: number, p: number): void {
  const stepHash = step >>> 0;
  for (let index = 0; index < B * O; index++) mask[index] = dropoutKeeps(seed, stepHash, layer, index, p) ? 1 : 0;
}

/**
 * The factor a kept value is multiplied by: 1/(1 − p) rounded to float32 after 1 − p is, as PyTorch's CPU dropout
 * (`noise.bernoulli_(1 − p); noise.div_(1 − p); input · noise`, all in float32) computes it.
 */
export function dropoutScale(p: number): number {
  return Math.fround(1 / Math.fround(1 - p));
}
