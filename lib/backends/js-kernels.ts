// The Kernels contract in plain TypeScript: the single-thread fallback when no native addon loads.
// Dimension letters: B batch, I a layer's inputs, O its outputs, C classes, D values per image.
//
// Why it is shaped this way (measured on V8 / Node 20, see the commit message for numbers):
// - JS has no SIMD, so a multiply-add costs a float32 load, a widening to double, a multiply and an add.
//   The matrix products therefore keep a 2×5 (or 5×2) tile of 10 running sums in registers, so each
//   loaded value feeds several sums. 9–10 sums were fastest (~2.5 GMAC/s): 1×4 and 2×2 tiles load too
//   much per sum, 4×4 and larger run out of x64's 16 float registers. Unrolling the inner loop on top
//   made it slower.
// - All sums are doubles: more exact than PyTorch's float32 ones, and free in JS.
// - Blocking over rows for the caches made no difference at these sizes (the tiles are compute-bound,
//   x and w stream from L2), so the loops are plain.
// - No allocation, closures or subarrays inside a kernel: only index arithmetic on the caller's buffers.

import { invalidArgument } from '../check';
import type { AdamHyper, Kernels } from './types';

// ---------------------------------------------------------------------------------------------------
// linear forward: out(B,O) = x(B,I) · w(O,I)ᵀ + b(O)

/** Ten outputs out[r..r+1][o..o+4], each the dot product of a row of x with a row of w, plus bias. */
function forwardTile2x5(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array,
  r: number, o: number, I: number, O: number, relu: boolean): void {
  const x0 = r * I, x1 = x0 + I;                                     // rows r, r+1 of x(B,I)
  const w0 = o * I, w1 = w0 + I, w2 = w1 + I, w3 = w2 + I, w4 = w3 + I; // rows o..o+4 of w(O,I)
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s04 = 0; // row r   · w rows o..o+4
  let s10 = 0, s11 = 0, s12 = 0, s13 = 0, s14 = 0; // row r+1 · w rows o..o+4
  for (let i = 0; i < I; i++) {
    const p = x[x0 + i], q = x[x1 + i];
    let v = w[w0 + i]; s00 += p * v; s10 += q * v;
    v = w[w1 + i]; s01 += p * v; s11 += q * v;
    v = w[w2 + i]; s02 += p * v; s12 += q * v;
    v = w[w3 + i]; s03 += p * v; s13 += q * v;
    v = w[w4 + i]; s04 += p * v; s14 += q * v;
  }
  const k0 = r * O + o, k1 = k0 + O;
  out[k0] = activate(s00 + b[o], relu); out[k0 + 1] = activate(s01 + b[o + 1], relu);
  out[k0 + 2] = activate(s02 + b[o + 2], relu); out[k0 + 3] = activate(s03 + b[o + 3], relu);
  out[k0 + 4] = activate(s04 + b[o + 4], relu);
  out[k1] = activate(s10 + b[o], relu); out[k1 + 1] = activate(s11 + b[o + 1], relu);
  out[k1 + 2] = activate(s12 + b[o + 2], relu); out[k1 + 3] = activate(s13 + b[o + 3], relu);
  out[k1 + 4] = activate(s14 + b[o + 4], relu);
}

/** One output out[r][o]: the edges that a 2×5 tile does not cover. Four sums hide the add latency. */
function forwardOne(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array,
  r: number, o: number, I: number, O: number, relu: boolean): void {
  const xr = r * I, wo = o * I; // row r of x(B,I), row o of w(O,I)
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i + 3 < I; i += 4) {
    s0 += x[xr + i] * w[wo + i]; s1 += x[xr + i + 1] * w[wo + i + 1];
    s2 += x[xr + i + 2] * w[wo + i + 2]; s3 += x[xr + i + 3] * w[wo + i + 3];
  }
  for (; i < I; i++) s0 += x[xr + i] * w[wo + i];
  out[r * O + o] = activate((s0 + s1) + (s2 + s3) + b[o], relu);
}

/** ReLU when asked. `v < 0`, not `v > 0`, so a NaN passes through and divergence stays visible. */
function activate(v: number, relu: boolean): number {
  return relu && v < 0 ? 0 : v;
}

function linearForward(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array,
  B: number, I: number, O: number, relu: boolean): void {
  const B2 = B - (B % 2), O5 = O - (O % 5); // rows and outputs that whole tiles cover
  // A tile of 5 rows of w (≤ 16 KB at I = 784) stays in L1 while every row of x passes by.
  for (let o = 0; o < O5; o += 5) {
    for (let r = 0; r < B2; r += 2) forwardTile2x5(out, x, w, b, r, o, I, O, relu);
    for (let r = B2; r < B; r++) for (let j = o; j < o + 5; j++) forwardOne(out, x, w, b, r, j, I, O, relu);
  }
  for (let o = O5; o < O; o++) for (let r = 0; r < B; r++) forwardOne(out, x, w, b, r, o, I, O, relu);
}

// ---------------------------------------------------------------------------------------------------
// linear backward. Both products have the shape
//   c(M,N) = Σ_k a(k,m) · bRows(K,N)[k][n]
// where bRows is row-major and `a` is read through strides, so no transposed copy is ever made:
//   dw(O,I) = dout(B,O)ᵀ · x(B,I):  M=O, N=I, K=B, a(k=b, m=o) = dout[b·O + o]  (strideM 1, strideK O)
//   dx(B,I) = dout(B,O) · w(O,I):   M=B, N=I, K=O, a(k=o, m=b) = dout[b·O + o]  (strideM O, strideK 1)

/** c[m..m+4][n..n+1] over all k: 5 values of `a` and 2 of bRows feed 10 sums per step. */
function productTile5x2(c: Float32Array, a: Float32Array, bRows: Float32Array,
  m: number, n: number, strideM: number, strideK: number, N: number, K: number): void {
  const a0 = m * strideM, a1 = a0 + strideM, a2 = a1 + strideM, a3 = a2 + strideM, a4 = a3 + strideM;
  let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0, s40 = 0, s41 = 0;
  for (let k = 0, ak = 0, bk = n; k < K; k++, ak += strideK, bk += N) {
    const p = bRows[bk], q = bRows[bk + 1];
    let v = a[a0 + ak]; s00 += v * p; s01 += v * q;
    v = a[a1 + ak]; s10 += v * p; s11 += v * q;
    v = a[a2 + ak]; s20 += v * p; s21 += v * q;
    v = a[a3 + ak]; s30 += v * p; s31 += v * q;
    v = a[a4 + ak]; s40 += v * p; s41 += v * q;
  }
  const c0 = m * N + n;
  c[c0] = s00; c[c0 + 1] = s01;
  c[c0 + N] = s10; c[c0 + N + 1] = s11;
  c[c0 + 2 * N] = s20; c[c0 + 2 * N + 1] = s21;
  c[c0 + 3 * N] = s30; c[c0 + 3 * N + 1] = s31;
  c[c0 + 4 * N] = s40; c[c0 + 4 * N + 1] = s41;
}

/** One value c[m][n]: the edges that a 5×2 tile does not cover. */
function productOne(c: Float32Array, a: Float32Array, bRows: Float32Array,
  m: number, n: number, strideM: number, strideK: number, N: number, K: number): void {
  let s0 = 0, s1 = 0;
  const am = m * strideM;
  let k = 0;
  for (; k + 1 < K; k += 2) {
    s0 += a[am + k * strideK] * bRows[k * N + n];
    s1 += a[am + (k + 1) * strideK] * bRows[(k + 1) * N + n];
  }
  if (k < K) s0 += a[am + k * strideK] * bRows[k * N + n];
  c[m * N + n] = s0 + s1;
}

/** c(M,N) = Σ_k a(k,m) · bRows(K,N)[k][n], overwriting c. */
function stridedProduct(c: Float32Array, a: Float32Array, bRows: Float32Array,
  strideM: number, strideK: number, M: number, N: number, K: number): void {
  const M5 = M - (M % 5), N2 = N - (N % 2); // rows and columns that whole tiles cover
  for (let m = 0; m < M5; m += 5) {
    // Along n the tile reuses the same few lines of `a` and walks bRows' columns: all in L1/L2.
    for (let n = 0; n < N2; n += 2) productTile5x2(c, a, bRows, m, n, strideM, strideK, N, K);
    if (N2 < N) for (let j = m; j < m + 5; j++) productOne(c, a, bRows, j, N2, strideM, strideK, N, K);
  }
  for (let m = M5; m < M; m++) for (let n = 0; n < N; n++) productOne(c, a, bRows, m, n, strideM, strideK, N, K);
}

function linearBackward(dx: Float32Array | null, dw: Float32Array, db: Float32Array, dout: Float32Array,
  x: Float32Array, w: Float32Array, B: number, I: number, O: number): void {
  stridedProduct(dw, dout, x, 1, O, O, I, B); // dw(O,I) = dout(B,O)ᵀ · x(B,I)
  if (dx !== null) stridedProduct(dx, dout, w, O, 1, B, I, O); // dx(B,I) = dout(B,O) · w(O,I)
  for (let o = 0; o < O; o++) { // db(O) = Σ_b dout(B,O)
    let s = 0;
    for (let r = 0, k = o; r < B; r++, k += O) s += dout[k];
    db[o] = s;
  }
}

// ---------------------------------------------------------------------------------------------------
// ReLU backward

function reluBackward(d: Float32Array, y: Float32Array, n: number): void {
  // d(n), y(n). `<= 0` as torch's threshold_backward: no gradient where the ReLU output is 0.
  for (let k = 0; k < n; k++) if (y[k] <= 0) d[k] = 0;
}

// ---------------------------------------------------------------------------------------------------
// softmax + cross-entropy, forward and backward together

function softmaxCrossEntropy(dlogits: Float32Array | null, logits: Float32Array, labels: Int32Array,
  B: number, C: number): number {
  // dlogits(B,C), logits(B,C), labels(B). Labels are checked first, so a bad one writes nothing.
  for (let r = 0; r < B; r++) {
    const y = labels[r];
    if (!(y >= 0 && y < C)) throw invalidArgument(`integer between 0 and ${C - 1}`, `labels[${r}]`, y);
  }
  let lossSum = 0;
  for (let r = 0; r < B; r++) {
    const row = r * C;
    // log Σ exp(l) = max + log Σ exp(l − max): no overflow for large logits.
    let max = -Infinity;
    for (let j = 0; j < C; j++) if (logits[row + j] > max) max = logits[row + j];
    let sumExp = 0;
    for (let j = 0; j < C; j++) sumExp += Math.exp(logits[row + j] - max);
    const logSumExp = max + Math.log(sumExp);
    lossSum += logSumExp - logits[row + labels[r]];
    if (dlogits !== null) {
      // d(mean loss)/d logit = (softmax − onehot) / B
      const scale = 1 / (sumExp * B);
      for (let j = 0; j < C; j++) dlogits[row + j] = Math.exp(logits[row + j] - max) * scale;
      dlogits[row + labels[r]] -= 1 / B;
    }
  }
  return lossSum / B;
}

// ---------------------------------------------------------------------------------------------------
// Adam, as torch.optim.Adam 1.13 (single-tensor path)

function adamUpdate(params: Float32Array, grads: Float32Array, m: Float32Array, v: Float32Array, n: number,
  hyper: AdamHyper, step: number): void {
  // params(n), grads(n), m(n), v(n): one flat loop over every tensor of the model.
  const { lr, beta1, beta2, eps, weightDecay } = hyper;
  const stepSize = lr / (1 - Math.pow(beta1, step));          // lr / bias correction 1
  const bias2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));      // √(bias correction 2)
  for (let k = 0; k < n; k++) {
    let g = grads[k];
    if (weightDecay !== 0) g += weightDecay * params[k];       // L2 decay, added to the gradient
    const mk = beta1 * m[k] + (1 - beta1) * g;
    const vk = beta2 * v[k] + (1 - beta2) * g * g;
    m[k] = mk;
    v[k] = vk;
    params[k] -= stepSize * mk / (Math.sqrt(vk) / bias2Sqrt + eps); // eps after the square root
  }
}

// ---------------------------------------------------------------------------------------------------
// argmax

function argmax(out: Int32Array, x: Float32Array, B: number, C: number): void {
  // out(B), x(B,C). First index on ties. A NaN counts as the largest, as in torch.argmax and
  // numpy.argmax: a row holding NaN yields the index of its first NaN.
  for (let r = 0; r < B; r++) {
    const row = r * C;
    let best = 0, bestValue = x[row];
    if (bestValue === bestValue) {
      for (let j = 1; j < C; j++) {
        const v = x[row + j];
        if (v > bestValue) { best = j; bestValue = v; } else if (v !== v) { best = j; break; }
      }
    }
    out[r] = best;
  }
}

// ---------------------------------------------------------------------------------------------------
// batch gathering

// byte / 255 for every byte. Rounding the double quotient to float32 equals float32 division
// (double rounding is harmless for division, 53 ≥ 2·24 + 2), so this matches torchvision's ToTensor.
const BYTE_TO_UNIT = new Float32Array(256).map((_, k) => k / 255);

function gatherBatch(x: Float32Array, images: Uint8Array, indices: Int32Array, offset: number,
  B: number, D: number): void {
  // x(B,D), images(N,D) with N = images.length / D, indices(≥ offset + B).
  // Indices are checked first, so a bad one writes nothing.
  const N = Math.floor(images.length / D);
  for (let k = offset; k < offset + B; k++) {
    const image = indices[k];
    if (!(image >= 0 && image < N)) throw invalidArgument(`integer between 0 and ${N - 1}`, `indices[${k}]`, image);
  }
  for (let r = 0; r < B; r++) {
    const src = indices[offset + r] * D, dst = r * D;
    for (let d = 0; d < D; d++) x[dst + d] = BYTE_TO_UNIT[images[src + d]];
  }
}

/** The pure-TypeScript backend's kernels. */
export const jsKernels: Kernels = {
  linearForward,
  linearBackward,
  reluBackward,
  softmaxCrossEntropy,
  adamUpdate,
  argmax,
  gatherBatch,
};
