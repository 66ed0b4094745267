// Naive reference kernels: the textbook triple loops, kept only so tests can hold the fast kernels in
// js-kernels.ts (and the native ones) against something obviously right. Never used for training.
// Dimension letters: B batch, I a layer's inputs, O its outputs. Sums in double, like the fast kernels.

/** out(B,O) = x(B,I) · w(O,I)ᵀ + b(O), then ReLU when `relu`. */
export function linearForwardReference(out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array,
  B: number, I: number, O: number, relu: boolean): void {
  for (let r = 0; r < B; r++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += x[r * I + i] * w[o * I + i];
      const y = s + b[o];
      out[r * O + o] = relu && y < 0 ? 0 : y;
    }
  }
}

/** dw(O,I) = dout(B,O)ᵀ · x(B,I); db(O) = Σ_b dout; dx(B,I) = dout · w(O,I) when dx is given. All overwritten. */
export function linearBackwardReference(dx: Float32Array | null, dw: Float32Array, db: Float32Array,
  dout: Float32Array, x: Float32Array, w: Float32Array, B: number, I: number, O: number): void {
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let r = 0; r < B; r++) s += dout[r * O + o] * x[r * I + i];
      dw[o * I + i] = s;
    }
    let s = 0;
    for (let r = 0; r < B; r++) s += dout[r * O + o];
    db[o] = s;
  }
  if (dx === null) return;
  for (let r = 0; r < B; r++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dout[r * O + o] * w[o * I + i];
      dx[r * I + i] = s;
    }
  }
}
