// A float64 MLP written for clarity, not speed: the yardstick the backends are held against.
// Layout as PyTorch's: w[l] is (O, I) row-major; ReLU between layers; mean softmax cross-entropy.

export interface ReferenceParams {
  sizes: number[];
  w: Float64Array[];
  b: Float64Array[];
}

export interface ReferenceResult {
  logits: Float64Array;
  loss: number;
  dw: Float64Array[];
  db: Float64Array[];
}

export function referenceForwardBackward(p: ReferenceParams, x: ArrayLike<number>, labels: ArrayLike<number>, B: number): ReferenceResult {
  const L = p.sizes.length - 1;
  const acts: Float64Array[] = [Float64Array.from(x)];
  for (let l = 0; l < L; l++) {
    const I = p.sizes[l], O = p.sizes[l + 1];
    const out = new Float64Array(B * O);
    for (let r = 0; r < B; r++) {
      for (let o = 0; o < O; o++) {
        let s = p.b[l][o];
        for (let i = 0; i < I; i++) s += acts[l][r * I + i] * p.w[l][o * I + i];
        out[r * O + o] = l < L - 1 ? Math.max(0, s) : s;
      }
    }
    acts.push(out);
  }
  const C = p.sizes[L];
  const logits = acts[L];
  let delta = new Float64Array(B * C);
  let loss = 0;
  for (let r = 0; r < B; r++) {
    const z = logits.subarray(r * C, (r + 1) * C);
    const max = Math.max(...z);
    const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
    loss += Math.log(sum) + max - z[labels[r]];
    for (let c = 0; c < C; c++) delta[r * C + c] = (Math.exp(z[c] - max) / sum - (c === labels[r] ? 1 : 0)) / B;
  }
  loss /= B;
  const dw: Float64Array[] = [];
  const db: Float64Array[] = [];
  for (let l = L - 1; l >= 0; l--) {
    const I = p.sizes[l], O = p.sizes[l + 1];
    const gw = new Float64Array(O * I);
    const gb = new Float64Array(O);
    const dx = new Float64Array(B * I);
    for (let r = 0; r < B; r++) {
      for (let o = 0; o < O; o++) {
        const d = delta[r * O + o];
        gb[o] += d;
        for (let i = 0; i < I; i++) {
          gw[o * I + i] += d * acts[l][r * I + i];
          dx[r * I + i] += d * p.w[l][o * I + i];
        }
      }
    }
    for (let k = 0; k < dx.length; k++) if (acts[l][k] <= 0) dx[k] = 0; // ReLU's gradient (unused for l = 0)
    dw[l] = gw;
    db[l] = gb;
    delta = dx;
  }
  return { logits, loss, dw, db };
}

/** Deterministic pseudo-random numbers in [-1, 1) for test data (not the library's generator on purpose). */
export function testNumbers(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
