#!/usr/bin/env node
// Fuzzes the native addon's boundary: CALLS calls into every exported function, the Network constructor,
// its trainBatch, download, invalidateShadow, takePhaseSeconds and dispose and its `threads` and `vectorFloats` accessors, with random wrong arguments (wrong types, lengths off by
// one, sizes 0, −1, 2³¹, 2⁵³, NaN, ±Infinity, detached and resizable buffers, SharedArrayBuffer views,
// overlapping views, odd byte offsets, missing and extra arguments, wrong `this`, a hyper object whose
// getters throw, detach buffers or dispose the trainer) mixed with valid calls.
// Every call must return or throw an Error; a valid call must not write outside its output arrays (guard
// values around each output are checked). A crash ends this process with a signal, which the caller sees.
// Prints one line of JSON: per function the calls, how many returned, and how many threw each error class.
//
//   node test/fuzz/native-calls.js [--seed N] [--calls N]      (FCNET_ADDON_PATH: the binary to load)
'use strict';
const path = require('path');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SEED = option('--seed', 1);
const CALLS = option('--calls', 10000);

const root = path.resolve(__dirname, '..', '..');
const addonPath = process.env.FCNET_ADDON_PATH || require('node-gyp-build').resolve(root);
const addon = require(addonPath);

// ---------------------------------------------------------------------------------------------- randomness

let state = SEED >>> 0 || 1;
function random() {  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (items) => items[Math.floor(random() * items.length)];
const chance = (p) => random() < p;

// ---------------------------------------------------------------------------------------------- values

const GUARD = 16;
const SENTINEL = -12345.5;
const TYPES = { f32: Float32Array, i32: Int32Array, u8: Uint8Array };
const OTHER_TYPES = [Float64Array, Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Uint32Array, BigInt64Array, BigUint64Array];

class FuzzGetterError extends Error {}

/** A typed array of `kind` with `length` elements filled by `fill(i)`. */
function makeArray(kind, length, fill) {
  const a = new TYPES[kind](length);
  if (fill) for (let i = 0; i < length; i++) a[i] = fill(i);
  return a;
}

/** An output array inside a larger one, with guard values on both sides, to catch writes out of bounds. */
function guarded(kind, length) {
  const whole = new TYPES[kind](length + 2 * GUARD);
  whole.fill(kind === 'f32' ? SENTINEL : 0x5a);
  const view = whole.subarray(GUARD, GUARD + length);
  view.fill(0);
  guards.push({ whole, length, kind });
  return view;
}
let guards = [];
function guardsIntact() {
  const expected = (kind) => (kind === 'f32' ? SENTINEL : 0x5a);
  for (const { whole, length, kind, aliased } of guards) {
    if (whole.length === 0 || aliased) continue; // detached by a getter, or reachable through another argument
    for (let i = 0; i < GUARD; i++) {
      if (whole[i] !== expected(kind) || whole[GUARD + length + i] !== expected(kind)) return false;
    }
  }
  return true;
}

function detached(kind, length) {
  const a = new TYPES[kind](length);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

const shared = (kind, length) => new TYPES[kind](new SharedArrayBuffer(Math.max(1, length) * TYPES[kind].BYTES_PER_ELEMENT), 0, length);

/** A length-tracking view of a resizable buffer, sometimes already shrunk below `length`. */
function resizable(kind, length) {
  const bytes = TYPES[kind].BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer(length * bytes, { maxByteLength: (length + 8) * bytes });
  const view = new TYPES[kind](buffer);
  if (chance(0.5)) buffer.resize(Math.max(0, length - int(1, 3)) * bytes);
  return view;
}

/** At an odd byte offset: possible for bytes; for wider types, a Uint8Array over the same memory instead. */
function oddOffset(kind, length) {
  const bytes = TYPES[kind].BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer((length + 2) * bytes + 1);
  return kind === 'u8' ? new Uint8Array(buffer, 1, length) : new Uint8Array(buffer, 1, length * bytes);
}

const HUGE_NUMBERS = [0, -1, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 24 + 1, 1e308, Number.MIN_VALUE,
  NaN, Infinity, -Infinity, 1.5, -0, 0.5];
const ODD_VALUES = () => [undefined, null, true, false, '3', '', 3n, Symbol('fuzz'), {}, [], [1, 2, 3], () => 1, new Number(3),
  new Boolean(true), Object.create(null), new Proxy({}, {}), new Date(0), /x/, new Map(), Promise.resolve(1)];

// Harness-side reads of damaged arguments (a Proxy or a typed array with another prototype): never throw.
function lengthOf(value) {
  try {
    return typeof value?.length === 'number' ? value.length : 3;
  } catch {
    return 3;
  }
}
const bufferOf = (value) => (ArrayBuffer.isView(value) ? Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'buffer').get.call(value) : null);

function badNumber(valid) {
  if (chance(0.3) && typeof valid === 'number') return valid + pick([-1, 1, -2, 2]);
  if (chance(0.8)) return pick(HUGE_NUMBERS);
  return pick(ODD_VALUES());
}

function badArray(kind, length, siblings) {
  switch (int(0, 15)) {
    case 0: return new (pick(OTHER_TYPES))(length);
    case 1: return makeArray(kind, Math.max(0, length - 1));
    case 2: return makeArray(kind, 0);
    case 3: return detached(kind, length);
    case 4: return shared(kind, length);
    case 5: return resizable(kind, length);
    case 6: return oddOffset(kind, length);
    case 7: return Array.from({ length }, () => 0);
    case 8: return new DataView(new ArrayBuffer(length * TYPES[kind].BYTES_PER_ELEMENT));
    case 9: return Buffer.alloc(length * TYPES[kind].BYTES_PER_ELEMENT);
    case 10: return new Proxy(makeArray(kind, length), {});
    case 11: return { length, 0: 0, buffer: new ArrayBuffer(length * 4), byteOffset: 0 };
    case 12: return chance(0.1) ? makeArray(kind, 1 << 16) : makeArray(kind, length + 1); // longer than needed is fine
    case 13: { // a view of another argument's memory, of this kind, overlapping it
      const other = siblings.filter((s) => !(s instanceof DataView) && bufferOf(s)?.byteLength > 0).map(bufferOf);
      if (other.length === 0) return makeArray(kind, length);
      const buffer = pick(other);
      for (const g of guards) if (g.whole.buffer === buffer) g.aliased = true; // its guards may be written through this view
      const bytes = TYPES[kind].BYTES_PER_ELEMENT;
      const start = bytes * int(0, Math.floor(buffer.byteLength / bytes) - 1);
      const fit = Math.floor((buffer.byteLength - start) / bytes);
      return new TYPES[kind](buffer, start, Math.max(0, Math.min(length, fit)));
    }
    case 14: return Object.setPrototypeOf(makeArray(kind, length), Object.prototype); // still a typed array inside
    default: return pick(ODD_VALUES());
  }
}

// ---------------------------------------------------------------------------------------------- hyper

const validHyper = () => ({ lr: pick([1e-3, 0.1, 0]), beta1: pick([0.9, 0, 0.5]), beta2: pick([0.999, 0.9, 0]), eps: 1e-8, weightDecay: pick([0, 0.01]) });

/** A hyper object that misbehaves; `call` gives it the call's arguments and the trainer, to sabotage them. */
function badHyper(call) {
  const h = validHyper();
  const field = pick(['lr', 'beta1', 'beta2', 'eps', 'weightDecay']);
  switch (int(0, 11)) {
    case 0: delete h[field]; return h;
    case 1: h[field] = pick([NaN, Infinity, -Infinity, 1, -0.5, 2 ** 53]); return h;
    case 2: h[field] = pick(ODD_VALUES()); return h;
    case 3: return pick(ODD_VALUES());
    case 4: // a getter that throws
      Object.defineProperty(h, field, { get() { throw new FuzzGetterError(`getter ${field} throws`); } });
      return h;
    case 5: return new Proxy(h, { get() { throw new FuzzGetterError('proxy get throws'); } });
    case 6: // a getter that detaches every array of the call, then returns a valid number
    case 7:
      Object.defineProperty(h, field, {
        get() {
          for (const buffer of call.args.map(bufferOf)) {
            if (buffer instanceof ArrayBuffer && buffer.byteLength > 0) {
              try { structuredClone(buffer, { transfer: [buffer] }); } catch { /* already detached, or not transferable */ }
            }
          }
          return 0.5;
        },
      });
      return h;
    case 8: // a getter that shrinks resizable buffers to nothing
      Object.defineProperty(h, field, {
        get() {
          for (const buffer of call.args.map(bufferOf)) if (buffer?.resizable) buffer.resize(0);
          return 0.5;
        },
      });
      return h;
    case 9: // a getter that disposes the trainer whose method is running
      Object.defineProperty(h, field, { get() { call.trainer?.dispose(); return 0.5; } });
      return h;
    case 10: // a getter that re-enters the function being called, with the same arguments
      Object.defineProperty(h, field, {
        get() {
          if (call.depth++ < 1) try { call.invoke(); } catch { /* its outcome is not counted */ }
          return 0.5;
        },
      });
      return h;
    default: return Object.create(validHyper()); // fields on the prototype: valid
  }
}

// ---------------------------------------------------------------------------------------------- calls

// Each function: a valid call (`args`, the indices of outputs to guard, and for arrays their kind and size),
// which the fuzzer then damages.
function valid(kinds, values) {
  return { kinds, args: values };
}

const rnd = () => random() * 2 - 1;
const F = (n, out) => (out ? guarded('f32', n) : makeArray('f32', n, rnd));

const plain = {
  linearForward() {
    const B = int(1, 9), I = int(1, 9), O = int(1, 9);
    return valid(['f32', 'f32', 'f32', 'f32', 'int', 'int', 'int', 'bool'], [F(B * O, true), F(B * I), F(O * I), F(O), B, I, O, chance(0.5)]);
  },
  linearBackward() {
    const B = int(1, 9), I = int(1, 9), O = int(1, 9);
    return valid(['f32?', 'f32', 'f32', 'f32', 'f32', 'f32', 'int', 'int', 'int'],
      [chance(0.3) ? null : F(B * I, true), F(O * I, true), F(O, true), F(B * O), F(B * I), F(O * I), B, I, O]);
  },
  reluBackward() {
    const n = int(0, 40);
    return valid(['f32', 'f32', 'int'], [F(n, true), F(n), n]);
  },
  softmaxCrossEntropy() {
    const B = int(1, 9), C = int(1, 12);
    return valid(['f32?', 'f32', 'i32', 'int', 'int'], [chance(0.3) ? null : F(B * C, true), F(B * C), makeArray('i32', B, () => int(0, C - 1)), B, C]);
  },
  adamUpdate() {
    const n = int(0, 40);
    return valid(['f32', 'f32', 'f32', 'f32', 'int', 'hyper', 'int'], [F(n, true), F(n), F(n, true), makeArray('f32', n, () => random()), n, validHyper(), int(1, 1000)]);
  },
  argmax() {
    const B = int(1, 9), C = int(1, 12);
    return valid(['i32', 'f32', 'int', 'int'], [guarded('i32', B), F(B * C), B, C]);
  },
  gatherBatch() {
    const B = int(1, 9), D = int(1, 12), N = int(1, 9), offset = int(0, 5);
    return valid(['f32', 'u8', 'i32', 'int', 'int', 'int'],
      [F(B * D, true), makeArray('u8', N * D, () => int(0, 255)), makeArray('i32', offset + B, () => int(0, N - 1)), offset, B, D]);
  },
  sgemm() {
    const M = int(1, 9), N = int(1, 9), K = int(1, 9);
    return valid(['bool', 'bool', 'int', 'int', 'int', 'f32', 'f32', 'f32', 'bool'], [chance(0.5), chance(0.5), M, N, K, F(M * K), F(K * N), F(M * N, true), chance(0.5)]);
  },
  gemmInfo() {
    return valid([], []);
  },
  setThreads() {
    return valid(['int'], [int(1, 2)]);
  },
};

// Live trainers that methods are called on; replaced now and then, always disposed.
const pool = [];
function validSizes() {
  const layers = int(1, 3);
  return [int(1, 70), ...Array.from({ length: layers }, () => int(1, 70))];
}
/** A Network spec for PyTorch's reference semantics (ReLU, cross-entropy) over these widths. */
function specOf(sizes) {
  return { sizes, activation: 'relu', negativeSlope: 0, dropout: 0, loss: 'cross_entropy', classWeights: null, inputMean: null, inputStd: null };
}
function newTrainer() {
  const sizes = validSizes();
  const maxBatch = int(1, 16);
  const trainer = new addon.Network(specOf(Int32Array.from(sizes)), maxBatch, int(1, 3));
  const n = sizes.slice(1).reduce((sum, o, l) => sum + o * sizes[l] + o, 0);
  return { trainer, sizes, maxBatch, n };
}
function isDisposed(trainer) {
  try {
    return trainer.threads < 1;
  } catch {
    return true;
  }
}
function poolTrainer() {
  for (let i = pool.length - 1; i >= 0; i--) if (isDisposed(pool[i].trainer)) pool.splice(i, 1); // a getter disposed it
  if (pool.length < 3 || chance(0.01)) {
    if (pool.length >= 3) pool.splice(int(0, pool.length - 1), 1)[0].trainer.dispose();
    pool.push(newTrainer());
  }
  return pick(pool);
}

// An image width for I inputs: no image, too narrow, a whole number of rows (patches), not one, the largest int.
function imageWidth(I) {
  const rows = [];
  for (let w = 1; w <= I; w++) if (I % w === 0) rows.push(w);
  return pick([0, 1, 2, 3, pick(rows), I, I + 1, 2147483647]);
}

const trainerCalls = {
  'Network()': () => {
    const sizes = validSizes();
    return { ...valid(['spec', 'int', 'int'], [specOf(Int32Array.from(sizes)), int(1, 16), int(1, 3)]), construct: true };
  },
  trainBatch: () => {
    const entry = poolTrainer();
    const { sizes, maxBatch, n } = entry;
    const I = sizes[0], C = sizes[sizes.length - 1], N = int(1, 8), B = int(1, maxBatch), offset = int(0, 4);
    const images = makeArray('u8', N * I, () => (chance(0.7) ? 0 : int(1, 255)));
    return {
      ...valid(['f32', 'f32', 'f32', 'f32', 'u8', 'i32', 'i32', 'int', 'int', 'hyper', 'int', 'int', 'int'], [
        guarded('f32', n), guarded('f32', n), guarded('f32', n), guarded('f32', n), images,
        makeArray('i32', N, () => int(0, C - 1)), makeArray('i32', offset + B, () => int(0, N - 1)), offset, B, validHyper(), int(1, 100), int(0, 1000),
        imageWidth(I)]),
      entry,
    };
  },
  download: () => {
    const entry = poolTrainer();
    return { ...valid(['f32', 'f32', 'f32', 'f32'], [guarded('f32', entry.n), guarded('f32', entry.n), guarded('f32', entry.n), guarded('f32', entry.n)]), entry };
  },
  invalidateShadow: () => ({ ...valid([], []), entry: poolTrainer() }),
  takePhaseSeconds: () => ({ ...valid([], []), entry: poolTrainer() }),
  dispose: () => {
    // Disposing a pooled trainer would end its use; dispose fresh ones (or already disposed ones) instead.
    const entry = newTrainer();
    if (chance(0.2)) entry.trainer.dispose();
    return { ...valid([], []), entry, disposable: true };
  },
  threads: () => ({ ...valid([], []), entry: poolTrainer(), accessor: 'threads' }),
  vectorFloats: () => ({ ...valid([], []), entry: poolTrainer(), accessor: 'vectorFloats' }),
};

const functionNames = [...Object.keys(plain), ...Object.keys(trainerCalls)];
const stats = Object.fromEntries(functionNames.map((name) => [name, { calls: 0, ok: 0, TypeError: 0, RangeError: 0, Error: 0, getterError: 0 }]));
const problems = [];
const messages = new Map();

function damage(call) {
  const { kinds, args } = call;
  const mutations = int(1, 3);
  for (let k = 0; k < mutations; k++) {
    const what = random();
    if (what < 0.08) args.length = int(0, Math.max(0, args.length - 1)); // missing arguments
    else if (what < 0.14) args.push(...Array.from({ length: int(1, 3) }, () => pick([...ODD_VALUES(), 1, makeArray('f32', 3)]))); // extra
    else if (args.length > 0) {
      const i = int(0, args.length - 1);
      const kind = kinds[i] ?? 'any';
      if (kind === 'int') args[i] = badNumber(args[i]);
      else if (kind === 'bool') args[i] = pick([0, 1, 'true', null, undefined, new Boolean(true), {}]);
      else if (kind === 'hyper') args[i] = badHyper(call);
      else if (kind === 'spec' && chance(0.2)) args[i] = pick(ODD_VALUES()); // not a spec object at all
      else if (kind === 'spec') {
        args[i] = specOf(pick([
          () => Int32Array.from([int(-2, 0), int(1, 5)]), () => Int32Array.of(5), () => new Int32Array(0),
          () => Int32Array.of(2 ** 24 + 1, 3), () => Int32Array.of(2 ** 24, 2 ** 24), () => Int32Array.of(2 ** 24, 2 ** 24, 2 ** 24),
          () => Int32Array.of(2 ** 31 - 1, 2), () => Int32Array.of(-(2 ** 31), 2), () => badArray('i32', 3, args),
          () => Int32Array.of(2 ** 22, 2 ** 10), // 2³² + 2¹⁰ parameters: one too many for a Float32Array
          // Kept as they are (no further damage: a valid maxBatch of 2²⁰ with other widths is a real request for
          // gigabytes of scratch, which the machine would have to provide):
          // 2⁴⁶ bytes of scratch: the memory estimate refuses it before allocating (kept off under ASan, as for any allocation that may fail)
          () => { args[1] = 2 ** 20; call.final = true; return process.env.FCNET_SANITIZED ? Int32Array.of(0, 1) : Int32Array.of(1, 2 ** 24); },
          () => { args[1] = 2 ** 20; call.final = true; return Int32Array.of(2 ** 12, 10); }, // maxBatch·sizes[0] = 2³²
        ])());
        if (call.final) return;
      } else if (kind === 'f32?' && chance(0.2)) args[i] = pick([null, undefined]);
      else if (kind.startsWith('f32') || kind === 'i32' || kind === 'u8') args[i] = badArray(kind.replace('?', ''), lengthOf(args[i]), args);
      else args[i] = pick(ODD_VALUES());
    }
  }
  // Values inside arrays that must be checked: labels and indices out of range.
  if (chance(0.2)) {
    for (const a of args.filter((_, i) => kinds[i] !== 'spec')) { // widths are damaged above, only to sizes that fail fast
      if (a instanceof Int32Array && bufferOf(a)?.byteLength > 0 && lengthOf(a) > 0) a[int(0, lengthOf(a) - 1)] = pick([-1, 2 ** 31 - 1, -(2 ** 31), lengthOf(a), 1000]);
    }
  }
}

function classify(name, error) {
  const s = stats[name];
  if (error instanceof FuzzGetterError) s.getterError++;
  else if (error instanceof RangeError) s.RangeError++;
  else if (error instanceof TypeError) s.TypeError++;
  else if (error instanceof Error) s.Error++;
  else {
    problems.push(`${name}: threw a non-Error ${String(error)}`);
    return;
  }
  if (!(error instanceof FuzzGetterError)) {
    const key = `${name}: ${error.constructor.name}: ${String(error.message).replace(/\d+/g, 'N').slice(0, 120)}`;
    messages.set(key, (messages.get(key) ?? 0) + 1);
  }
}

const WRONG_THIS = () => [undefined, null, {}, 5, Object.create(addon.Network.prototype), addon, new Float32Array(2)];

function runOne(name) {
  guards = [];
  const make = plain[name] ?? trainerCalls[name];
  const call = make();
  call.depth = 0;
  call.trainer = call.entry?.trainer;
  const validCall = chance(0.25);
  let thisValue = call.trainer;
  let asConstructor = call.construct === true;
  if (!validCall) {
    damage(call);
    if (call.entry && chance(0.1)) thisValue = pick(WRONG_THIS());
    if (chance(0.03)) asConstructor = !asConstructor;
  }
  const args = call.args;
  call.invoke = () => {
    if (name === 'Network()') {
      if (!asConstructor) return addon.Network(...args);
      const made = new addon.Network(...args);
      made.dispose();
      return made;
    }
    if (call.entry) {
      const proto = addon.Network.prototype;
      if (call.accessor) return Object.getOwnPropertyDescriptor(proto, call.accessor).get.call(thisValue);
      return proto[name].apply(thisValue, args);
    }
    const fn = addon[name];
    return asConstructor ? new fn(...args) : fn(...args);
  };
  stats[name].calls++;
  const t0 = process.hrtime.bigint();
  try {
    call.invoke();
    stats[name].ok++;
  } catch (error) {
    classify(name, error);
  }
  stats[name].ms = (stats[name].ms ?? 0) + Number(process.hrtime.bigint() - t0) / 1e6;
  if (!guardsIntact()) problems.push(`${name}: wrote outside an output array (call ${stats[name].calls}, ${validCall ? 'valid' : 'damaged'})`);
  if (call.disposable && call.trainer) call.trainer.dispose();
}

const started = process.hrtime.bigint();
const originalThreads = addon.gemmInfo().threads;
for (let round = 0; round < CALLS; round++) {
  for (const name of functionNames) runOne(name);
}
addon.setThreads(originalThreads);
for (const { trainer } of pool) trainer.dispose();

const summary = {
  seed: SEED,
  callsPerFunction: CALLS,
  seconds: Number(process.hrtime.bigint() - started) / 1e9,
  functions: stats,
  totalCalls: Object.values(stats).reduce((sum, s) => sum + s.calls, 0),
  distinctMessages: messages.size,
  problems: problems.slice(0, 20),
  problemCount: problems.length,
};
if (process.env.FUZZ_MESSAGES) summary.messages = Object.fromEntries([...messages].sort((a, b) => b[1] - a[1]));
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exitCode = problems.length === 0 ? 0 : 1;
