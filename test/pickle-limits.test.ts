// The pickle VM's resource limits (kind 3 of issue 15): every refusal comes before the memory is taken, and the
// work counters show that a run costs no more than the instructions in the pickle, whatever they build. The
// hostile pickles are made here, after the cases found on af01466 (a 117 KB zip whose pickle builds a list of
// 120 million items: a V8 fatal error; 483 bytes of memo-shared tuples: 34 s, 1.2 GB and a 128 MB message).
import { zipSync } from 'fflate';
import { readTorchCheckpoint } from '../lib/checkpoint';
import { PICKLE_LIMITS, unpickle, type AllowedGlobal, type PickleCounters, type PickleLimits } from '../lib/checkpoint/pickle';
import { PickleBuilder, torchZip } from './fixtures-gen/pickle-builder';

const run = (pickle: Uint8Array, limits: Partial<PickleLimits> = {}): { value?: unknown; error?: Error; counters: PickleCounters } => {
  const counters = {} as PickleCounters;
  try {
    const value = unpickle(pickle, { source: 'p.pkl', globals: new Map<string, AllowedGlobal>(), persistentLoad: () => null, limits, counters });
    return { value, counters };
  } catch (error) {
    return { error: error as Error, counters };
  }
};

/** `count` copies of the one-byte opcode `op`. */
const repeat = (op: string, count: number): number[] => new Array<number>(count).fill(op.charCodeAt(0));

test('a list built in batches of APPENDS stops at the container limit, a catchable error', () => {
  // The case file's shape: EMPTY_LIST, then batches of MARK, NONE × n, APPENDS; here 3 × 400,000 items.
  const pickle = new PickleBuilder().proto().op(']');
  for (let batch = 0; batch < 3; batch++) pickle.op('(').append(repeat('N', 400_000)).op('e');
  const { error, counters } = run(pickle.op('.').build());
  expect(error?.message).toBe(`p.pkl: pickle is refused: APPENDS at offset ${3 + 2 * 400_002 + 400_001} would make a list of more than 1000000 items`);
  expect(counters.largestContainer).toBe(800_000);
  expect(counters.instructions).toBe(2 + 3 * 400_002);
});

test('the stack, a dict, the objects made, the memo, strings and marks each have a limit', () => {
  const limits = { maxContainerItems: 10, maxObjects: 10, maxMemoEntries: 5, maxStringBytes: 8, maxMarkDepth: 3 };
  const p = () => new PickleBuilder().proto();
  expect(run(p().append(repeat('N', 11)).op('.').build(), limits).error?.message)
    .toBe('p.pkl: pickle is refused: NONE at offset 12 would make the stack of more than 10 items');
  const dict = p().op('}');
  for (let k = 0; k < 11; k++) dict.int(k).op('N').op('s');
  expect(run(dict.op('.').build(), limits).error?.message)
    .toBe('p.pkl: pickle is refused: SETITEM at offset 46 would make a dict of more than 10 items');
  expect(run(p().op(']').append(repeat(')', 10)).op('.').build(), limits).error?.message)
    .toBe('p.pkl: pickle is refused: EMPTY_TUPLE at offset 12 would make more than 10 lists, tuples, dicts and objects');
  const memo = p().op('N');
  for (let k = 0; k < 6; k++) memo.op('q').raw(k);
  expect(run(memo.op('.').build(), limits).error?.message).toBe('p.pkl: pickle is refused: BINPUT at offset 13 would grow the memo past 5 entries');
  expect(run(p().string('123456789').op('.').build(), limits).error?.message).toBe('p.pkl: pickle string at offset 2 is 9 bytes, over the limit of 8');
  expect(run(p().append(repeat('(', 4)).op('.').build(), limits).error?.message).toBe('p.pkl: pickle is refused: MARK at offset 5 nests marks deeper than 3');
});

test('the instruction and byte limits refuse a pickle before any of it runs', () => {
  const pickle = new PickleBuilder().proto().op(']').append(repeat('N', 100)).op('.').build();
  const tooMany = run(pickle, { maxInstructions: 50 });
  expect(tooMany.error?.message).toBe('p.pkl: pickle has more than 50 instructions');
  expect(tooMany.counters.instructions).toBeUndefined(); // the walk refused it: nothing ran
  expect(run(pickle, { maxBytes: 64 }).error?.message).toBe('p.pkl: pickle is longer than the limit of 64 bytes');
});

test('a zip whose data.pkl inflates past the pickle limit is refused before it is inflated', () => {
  // 120 bytes of deflate for a 33 MB pickle of NONEs: the case file had 117 KB for 120 MB.
  const pickle = new Uint8Array(PICKLE_LIMITS.maxBytes + 1).fill('N'.charCodeAt(0));
  const zip = zipSync({ 'archive/data.pkl': pickle }, { level: 9 });
  expect(zip.length).toBeLessThan(64 * 1024);
  const before = process.memoryUsage().arrayBuffers;
  expect(() => readTorchCheckpoint(zip)).toThrow(
    new Error(`torch checkpoint: zip entry 'archive/data.pkl' inflates to ${PICKLE_LIMITS.maxBytes + 1} bytes but a pickle may take at most ${PICKLE_LIMITS.maxBytes}`),
  );
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(4 << 20);
});

/**
 * A list of tuples: t0 = (1, 1), then t(k+1) = (tk, tk) through the memo (entry k holds tk), `levels` times:
 * 2^levels leaves from 12 bytes a level.
 */
function sharedTuples(pickle: PickleBuilder, levels: number): PickleBuilder {
  pickle.op(']').int(1).int(1).op('\x86').op('r').raw(0, 0, 0, 0).op('a');
  for (let k = 0; k < levels; k++) pickle.op('j').raw(k, 0, 0, 0).op('j').raw(k, 0, 0, 0).op('\x86').op('r').raw(k + 1, 0, 0, 0).op('a');
  return pickle;
}

test('memo-shared tuples (2^60 leaves) cost work in proportion to the pickle, and the message stays short', () => {
  const { value, error, counters } = run(sharedTuples(new PickleBuilder().proto(), 60).op('.').build());
  expect(error).toBeUndefined();
  expect((value as unknown[]).length).toBe(61);
  expect(counters.instructions).toBe(1 + 1 + 5 + 60 * 5 + 1);
  expect(counters.work).toBeLessThan(3 * counters.instructions);

  // The case file's attack: the last tuple as a tensor's storage offset (the list is an entry of its own).
  const pickle = sharedTuples(new PickleBuilder().proto().op('}').string('shared'), 60).op('s');
  pickle.string('fc1.weight').global('torch._utils', '_rebuild_tensor_v2').op('(');
  pickle.op('(').string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(1).op('t').op('Q');
  pickle.op('j').raw(60, 0, 0, 0).ints([1]).ints([1]).raw(0x89).global('collections', 'OrderedDict').op(')').op('R').op('t').op('R').op('s').op('.');
  const zip = torchZip({ 'data.pkl': pickle.build(), 'data/0': new Uint8Array(4) });
  let message = '';
  try {
    readTorchCheckpoint(zip);
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(/^torch checkpoint: storage offset must be a non-negative integer but is \(\(\(…\), \(…\)\), \(\(…\), \(…\)\)\) \(in torch\._utils _rebuild_tensor_v2 at pickle offset \d+\)$/);
});

test('a huge dict key or global name is shown clipped, with a count', () => {
  const key = 'k'.repeat(1_000_000);
  const pickle = new PickleBuilder().proto().op('}').string(key).op('N').op('s').op('.').build();
  const zip = torchZip({ 'data.pkl': pickle });
  expect(() => readTorchCheckpoint(zip)).toThrow(new Error(
    `torch checkpoint: the dict (keys '${'k'.repeat(100)}… (999,900 more characters)') holds no state_dict: neither under a conventional key ` +
      '(model_state_dict, state_dict, model, net, network, model_state, weights, params) nor as its only dict of tensors; save one with torch.save(model.state_dict(), path)',
  ));
  const global = new PickleBuilder().proto().string('m'.repeat(500_000)).string('f').op('\x93').op('.').build();
  const { error } = run(global);
  expect(error?.message).toBe(`Refusing to load p.pkl: pickle global '${'m'.repeat(100)}… (499,902 more characters)' is not allowed (allowed: )`);
});
