// PyTorch zip checkpoints: the reference network's model.ckpt (examples/), small files torch.save wrote (see
// fixtures-gen/make-torch-fixtures.py, with their values as JSON), and hand-made hostile or broken ones.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { readTorchCheckpoint } from '../lib/checkpoint';
import { float32Bytes, PickleBuilder, stateDictPickle, torchZip, type ViewSpec } from './fixtures-gen/pickle-builder';
import { referenceCheckpoint } from './support/fixtures-dir';

const generated = join(__dirname, 'fixtures-gen');
const ALLOWED =
  'collections OrderedDict, torch._utils _rebuild_tensor_v2, torch._utils _rebuild_parameter, torch FloatStorage, ' +
  'torch DoubleStorage, torch HalfStorage, torch BFloat16Storage, torch LongStorage, torch IntStorage, ' +
  'torch ShortStorage, torch CharStorage, torch ByteStorage, torch BoolStorage';

const readError = (input: Uint8Array | string, options = {}): string => {
  try {
    readTorchCheckpoint(input, options);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('readTorchCheckpoint accepted the checkpoint');
};

/** A checkpoint holding float32 storage '0' with `values`, and the given tensor views of it. */
const checkpointOf = (values: number[], views: ViewSpec[]): Uint8Array =>
  torchZip({ 'data.pkl': stateDictPickle(views), 'data/0': float32Bytes(values) });

describe("the reference network's examples/model.ckpt (scripts/reference/train_pytorch.py)", () => {
  const referenceModel = referenceCheckpoint;

  test('loads with its four tensors and the values PyTorch reads', () => {
    const tensors = readTorchCheckpoint(referenceModel, {
      expect: { 'fc1.weight': [500, 784], 'fc1.bias': [500], 'fc2.weight': [10, 500], 'fc2.bias': [10] },
    });
    expect(Object.keys(tensors)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    // From /usr/bin/python3 (torch 1.13): sd = torch.load('examples/model.ckpt');
    //   [v.double().sum().item(), v.flatten()[0].item(), v.flatten()[1].item(), v.flatten()[-1].item()]
    const fromPyTorch: Record<string, [number, number, number, number]> = {
      'fc1.weight': [-942.3984181073686, -0.00026738643646240234, 0.019158700481057167, 0.03446490317583084],
      'fc1.bias': [9.30415752332192, -0.0045969365164637566, -0.045607469975948334, 0.08140306919813156],
      'fc2.weight': [-91.91725385555765, -0.005565094295889139, -0.03506576269865036, 0.06976441293954849],
      'fc2.bias': [0.04436155315488577, -0.04534683749079704, -0.026593830436468124, -0.03452066704630852],
    };
    for (const [name, [sum, first, second, last]] of Object.entries(fromPyTorch)) {
      const { data } = tensors[name];
      expect(data.reduce((total, value) => total + value, 0)).toBeCloseTo(sum, 9);
      expect([data[0], data[1], data[data.length - 1]]).toEqual([first, second, last]);
    }
    expect(tensors['fc1.weight'].data[123 * 784 + 456]).toBe(0.09477998316287994); // sd['fc1.weight'][123, 456]
    expect(tensors['fc2.weight'].data[7 * 500 + 499]).toBe(-0.10589250177145004); // sd['fc2.weight'][7, 499]
  });

  test('reads from bytes as from a path, and checks expected names', () => {
    const bytes = readFileSync(referenceModel);
    expect(readTorchCheckpoint(bytes)['fc2.bias'].data).toEqual(readTorchCheckpoint(referenceModel)['fc2.bias'].data);
    expect(readError(bytes, { expect: { 'fc1.weight': [500, 784], 'fc3.bias': [10] } })).toBe(
      "torch checkpoint: missing tensor 'fc3.bias'; unexpected tensors 'fc1.bias', 'fc2.weight', 'fc2.bias'",
    );
    expect(readError(bytes, { source: 'model.ckpt', expect: { 'fc1.weight': [784, 500], 'fc1.bias': [500], 'fc2.weight': [10, 500], 'fc2.bias': [10] } })).toBe(
      "model.ckpt: tensor 'fc1.weight': shape [500, 784] but expected [784, 500]",
    );
  });
});

describe('checkpoints that torch.save wrote, against the values it printed', () => {
  test.each([
    ['tiny_mlp', 'a 5-4-3 MLP state_dict'],
    ['tiny_mlp_protocol4', 'the same with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)'],
    ['views', 'transposed, sliced and offset views, a Parameter, a scalar, an empty tensor'],
    ['dtypes', 'float64, int64, int32, int16, int8, uint8, bool, float16 and bfloat16 storages'],
  ])('%s: %s', (name) => {
    const expected: Record<string, { shape: number[]; values: number[] }> = JSON.parse(
      readFileSync(join(generated, `${name}.json`), 'utf8'),
    );
    const tensors = readTorchCheckpoint(join(generated, `${name}.ckpt`));
    expect(Object.keys(tensors)).toEqual(Object.keys(expected));
    for (const [key, { shape, values }] of Object.entries(expected)) {
      expect([key, tensors[key].shape]).toEqual([key, shape]);
      expect([key, Array.from(tensors[key].data)]).toEqual([key, values]);
    }
  });

  test('a transposed view reads in its own row-major order, not the storage order', () => {
    const { transposed } = readTorchCheckpoint(join(generated, 'views.ckpt'));
    // torch.arange(6.).reshape(2, 3).t(): storage 0..5, sizes (3, 2), strides (1, 3)
    expect(transposed.shape).toEqual([3, 2]);
    expect(Array.from(transposed.data)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  test('a checkpoint re-zipped with deflate reads the same', () => {
    const entries = unzipSync(readFileSync(join(generated, 'tiny_mlp.ckpt')));
    const deflated = torchZip(
      Object.fromEntries(Object.entries(entries).map(([name, bytes]) => [name.slice('tiny_mlp/'.length), bytes])),
      { folder: 'renamed', level: 6 },
    );
    expect(readTorchCheckpoint(deflated)).toEqual(readTorchCheckpoint(join(generated, 'tiny_mlp.ckpt')));
  });
});

describe('hostile pickles are refused and nothing in them runs', () => {
  const marker = '/tmp/fcnet-pwned-by-checkpoint';

  test('a checkpoint whose pickle calls os.system (saved by torch.save)', () => {
    rmSync(marker, { force: true });
    const path = join(generated, 'malicious_os_system.ckpt');
    expect(readError(path)).toBe(`Refusing to load ${path}: pickle global 'posix system' is not allowed (allowed: ${ALLOWED})`);
    expect(existsSync(marker)).toBe(false);
  });

  test.each([
    ['os', 'system'],
    ['builtins', 'eval'],
    ['__builtin__', 'getattr'],
    ['torch', 'load'],
  ])('GLOBAL %s.%s', (module, name) => {
    const pickle = new PickleBuilder().proto().global(module, name).string('touch /tmp/x').op('\x85').op('R').op('.').build();
    expect(readError(torchZip({ 'data.pkl': pickle }), { source: 'evil.ckpt' })).toBe(
      `Refusing to load evil.ckpt: pickle global '${module} ${name}' is not allowed (allowed: ${ALLOWED})`,
    );
  });

  test('a forbidden GLOBAL late in the pickle is refused before anything earlier runs', () => {
    const good = stateDictPickle([{ name: 'w', key: '0', numel: 1, sizes: [1], strides: [1] }]);
    // A forbidden call just before the final STOP: the storage must never be read.
    const evil = new PickleBuilder().raw(...good.subarray(0, good.length - 1)).global('os', 'system').op(')').op('R').op('.').build();
    const zip = torchZip({ 'data.pkl': evil }); // no data/0: reading it would be a different error
    expect(readError(zip)).toBe(`Refusing to load torch checkpoint: pickle global 'os system' is not allowed (allowed: ${ALLOWED})`);
  });

  test('STACK_GLOBAL (protocol 4) names are checked too', () => {
    const pickle = new PickleBuilder().proto(4).string('posix').string('system').raw(0x93).op(')').op('R').op('.').build();
    expect(readError(torchZip({ 'data.pkl': pickle }))).toBe(
      `Refusing to load torch checkpoint: pickle global 'posix system' is not allowed (allowed: ${ALLOWED})`,
    );
  });

  test('opcodes outside the allow-list, named with their byte and offset', () => {
    const inst = new PickleBuilder().proto().op('i').raw(...Buffer.from('os\nsystem\n')).op('.').build();
    expect(readError(torchZip({ 'data.pkl': inst }))).toBe("Refusing to load torch checkpoint: pickle opcode 0x69 ('i') at offset 2 is not supported");
    const unknown = new PickleBuilder().proto().op(']').raw(0xff).op('.').build();
    expect(readError(torchZip({ 'data.pkl': unknown }))).toBe('Refusing to load torch checkpoint: pickle opcode 0xff at offset 3 is not supported');
  });

  test('allowed globals are only used as allowed: no calling a storage class, no BUILD on a plain value', () => {
    const callStorage = new PickleBuilder().proto().global('torch', 'FloatStorage').op(')').op('R').op('.').build();
    expect(readError(torchZip({ 'data.pkl': callStorage }))).toBe(
      "Refusing to load torch checkpoint: pickle calls 'torch FloatStorage', which may only be named, not called",
    );
    const buildDict = new PickleBuilder().proto().op('}').op('}').op('b').op('.').build();
    expect(readError(torchZip({ 'data.pkl': buildDict }))).toBe(
      'Refusing to load torch checkpoint: pickle BUILD at offset 4 sets state on a value that does not allow it',
    );
  });

  test('a pickle cannot make the reader allocate more than its bytes justify', () => {
    const hugeString = new PickleBuilder().proto().op('X').raw(0xff, 0xff, 0xff, 0xff).op('.').build();
    expect(readError(torchZip({ 'data.pkl': hugeString }))).toBe(
      'torch checkpoint: pickle is truncated: BINUNICODE at offset 2 needs 4294967299 bytes but 5 remain',
    );
    const deepMarks = new PickleBuilder().proto().raw(...new Array(1001).fill(0x28)).op('.').build();
    expect(readError(torchZip({ 'data.pkl': deepMarks }))).toBe(
      'torch checkpoint: pickle is refused: MARK at offset 1002 nests marks deeper than 1000',
    );
    const hugeLong = new PickleBuilder().proto().raw(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40).op('.').build();
    expect(readError(torchZip({ 'data.pkl': hugeLong }))).toBe(
      'torch checkpoint: pickle LONG1 at offset 2 holds 4611686018427387904, beyond the integers a number holds exactly',
    );
    const missingMemo = new PickleBuilder().proto().op('h').raw(7).op('.').build();
    expect(readError(torchZip({ 'data.pkl': missingMemo }))).toBe(
      'torch checkpoint: pickle is malformed: BINGET at offset 2 reads memo entry 7, which was never stored',
    );
    const noStop = new PickleBuilder().proto().op('}').build();
    expect(readError(torchZip({ 'data.pkl': noStop }))).toBe('torch checkpoint: pickle is truncated: it ends without STOP');
  });
});

describe('tensor views must stay inside their storages', () => {
  test('a storage smaller than declared', () => {
    const zip = torchZip({
      'data.pkl': stateDictPickle([{ name: 'w', key: '0', numel: 6, sizes: [2, 3], strides: [3, 1] }]),
      'data/0': float32Bytes([1, 2, 3, 4]),
    });
    expect(readError(zip)).toBe(
      "torch checkpoint: storage '0' declares 6 F32 elements (24 bytes) but data/0 holds 16 bytes (in persistent id at pickle offset 94)",
    );
  });

  test('a storage shortened inside a real torch.save file', () => {
    const entries = unzipSync(readFileSync(join(generated, 'tiny_mlp.ckpt')));
    entries['tiny_mlp/data/0'] = entries['tiny_mlp/data/0'].subarray(0, 40);
    const zip = torchZip(Object.fromEntries(Object.entries(entries).map(([name, bytes]) => [name.slice('tiny_mlp/'.length), bytes])));
    expect(readError(zip)).toMatch(/^torch checkpoint: storage '0' declares 20 F32 elements \(80 bytes\) but data\/0 holds 40 bytes \(in persistent id at pickle offset \d+\)$/);
  });

  // Found by test/fuzz-files.test.ts: every storage entry was inflated in full, so 65 KB of zip whose data/0 inflates
  // to 64 MB of zeros cost 64 MB to read 80 bytes of it.
  test('a compressed storage that inflates to more than the pickle needs is refused before it is inflated', () => {
    const entries = unzipSync(readFileSync(join(generated, 'tiny_mlp.ckpt')));
    const bomb = new Uint8Array(16 << 20);
    bomb.set(entries['tiny_mlp/data/0']);
    const files = Object.fromEntries(Object.entries(entries).map(([name, bytes]) => [name.slice('tiny_mlp/'.length), name.endsWith('data/0') ? bomb : bytes]));
    const zip = torchZip(files, { level: 6 });
    expect(readError(zip)).toMatch(/^torch checkpoint: zip entry 'archive\/data\/0' inflates to 16777216 bytes but the pickle needs only 80 of it \(in persistent id at pickle offset \d+\)$/);
  });

  test('entries that claim more bytes in all than the file holds (sharing data) are refused before any is copied', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const zip = torchZip({
      'data.pkl': stateDictPickle([{ name: 'a', key: '0', numel: 1000, sizes: [1000], strides: [1] }, { name: 'b', key: '1', numel: 1000, sizes: [1000], strides: [1] }]),
      'data/0': float32Bytes(values),
      'data/1': float32Bytes(values),
    });
    // data/1's central directory entry now claims most of the file, data/0's bytes included.
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    const central = Buffer.from(zip).indexOf(Buffer.from('archive/data/1'), Buffer.from(zip).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))) - 46;
    view.setUint32(central + 20, zip.length - 2000, true);
    view.setUint32(central + 24, zip.length - 2000, true);
    expect(readError(zip)).toMatch(/^torch checkpoint: zip entries up to 'archive\/data\/.' claim \d+ bytes in all but the file has only \d+ \(in persistent id at pickle offset \d+\)$/);
  });

  test('a missing storage entry', () => {
    const zip = torchZip({ 'data.pkl': stateDictPickle([{ name: 'w', key: '5', numel: 1, sizes: [1], strides: [1] }]) });
    expect(readError(zip)).toBe("torch checkpoint: storage '5': the archive has no entry data/5 (in persistent id at pickle offset 94)");
  });

  test('sizes and strides that reach past the storage', () => {
    const zip = checkpointOf([0, 1, 2, 3, 4, 5], [{ name: 'w', key: '0', numel: 6, offset: 1, sizes: [2, 3], strides: [3, 1] }]);
    expect(readError(zip)).toBe("torch checkpoint: tensor 'w': storage offset 1 with sizes [2, 3] and strides [3, 1] reaches element 6 but storage '0' holds 6");
    const strided = checkpointOf([0, 1, 2, 3, 4, 5], [{ name: 'w', key: '0', numel: 6, sizes: [3, 2], strides: [1, 4] }]);
    expect(readError(strided)).toBe("torch checkpoint: tensor 'w': storage offset 0 with sizes [3, 2] and strides [1, 4] reaches element 6 but storage '0' holds 6");
  });

  test('negative sizes or strides', () => {
    const pickle = new PickleBuilder().proto().op('}').op('(').string('w').global('torch._utils', '_rebuild_tensor_v2').op('(')
      .op('(').string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(2).op('t').op('Q')
      .int(0).ints([2]).op('(').int(-1).op('t').raw(0x89).global('collections', 'OrderedDict').op(')').op('R').op('t').op('R')
      .op('u').op('.').build();
    expect(readError(torchZip({ 'data.pkl': pickle, 'data/0': float32Bytes([1, 2]) }))).toBe(
      'torch checkpoint: strides must be a tuple of non-negative integers but are (-1) (in torch._utils _rebuild_tensor_v2 at pickle offset 137)',
    );
  });

  test('views that repeat elements (stride 0) may not blow a small file up', () => {
    const zip = checkpointOf([7], [{ name: 'w', key: '0', numel: 1, sizes: [1000000], strides: [0] }]);
    expect(readError(zip)).toBe(
      'torch checkpoint: the tensors hold 1000000 elements but their storages only 1; views that repeat storage elements are refused',
    );
  });

  test('two views of one storage that stay within it are fine', () => {
    const tensors = readTorchCheckpoint(checkpointOf([0, 1, 2, 3, 4, 5], [
      { name: 'first', key: '0', numel: 6, sizes: [2], strides: [1] },
      { name: 'rest', key: '0', numel: 6, offset: 2, sizes: [2, 2], strides: [1, 2] },
    ]));
    expect(Array.from(tensors.first.data)).toEqual([0, 1]);
    expect(Array.from(tensors.rest.data)).toEqual([2, 4, 3, 5]);
  });
});

describe('archives that are not readable checkpoints', () => {
  test('a truncated zip', () => {
    const bytes = readFileSync(join(generated, 'tiny_mlp.ckpt'));
    expect(readError(bytes.subarray(0, bytes.length >> 1), { source: 'tiny_mlp.ckpt' })).toBe(
      'tiny_mlp.ckpt: not a readable zip archive (invalid zip data); the file may be truncated or damaged',
    );
  });

  test("byteorder 'big' is refused, 'little' accepted", () => {
    const entries = {
      'data.pkl': stateDictPickle([{ name: 'w', key: '0', numel: 1, sizes: [1], strides: [1] }]),
      'data/0': float32Bytes([2.5]),
    };
    expect(readTorchCheckpoint(torchZip({ ...entries, byteorder: Buffer.from('little') })).w.data).toEqual(Float32Array.of(2.5));
    expect(readError(torchZip({ ...entries, byteorder: Buffer.from('big') }))).toBe(
      "torch checkpoint: its byteorder is 'big'; only little-endian checkpoints can be read",
    );
  });

  test('a zip without data.pkl, a legacy checkpoint, and something else', () => {
    expect(readError(torchZip({ version: Buffer.from('3\n') }))).toBe(
      'torch checkpoint: the zip archive has no <archive>/data.pkl; is it a PyTorch checkpoint?',
    );
    // The start of the legacy format's magic number, cut short: a pickle, but not one torch.save wrote.
    expect(readError(Uint8Array.of(0x80, 0x02, 0x8a, 0x0a))).toBe(
      'torch checkpoint: is a pickle but not one torch.save wrote (no zip archive, no legacy magic number); save the weights with torch.save(model.state_dict(), path)',
    );
    expect(readError(Buffer.from('{"not": "a zip"}'))).toBe(
      'torch checkpoint: is not a PyTorch checkpoint (torch.save writes a zip archive, or before PyTorch 1.6 a pickle file, and this is neither)',
    );
  });

  test('a zip entry that claims to inflate to far more than deflate can produce', () => {
    const zip = torchZip({ 'data.pkl': stateDictPickle([]) }, { level: 6 });
    // Patch the uncompressed size in the central directory entry (signature PK\1\2, size at +24).
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    const central = Buffer.from(zip).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const compressed = view.getUint32(central + 20, true);
    view.setUint32(central + 24, 0xfffffff0, true);
    expect(readError(zip)).toBe(
      `torch checkpoint: zip entry 'archive/data.pkl' claims 4294967280 bytes from ${compressed}, more than deflate can produce`,
    );
  });

  test('the state_dict must be a dict of tensors', () => {
    const list = new PickleBuilder().proto().op(']').op('.').build();
    expect(readError(torchZip({ 'data.pkl': list }))).toBe(
      'torch checkpoint: the file holds a list, not a state_dict (a dict of tensors): save one with torch.save(model.state_dict(), path)',
    );
    const number = new PickleBuilder().proto().op('}').string('epoch').int(3).op('s').op('.').build();
    expect(readError(torchZip({ 'data.pkl': number }))).toBe(
      "torch checkpoint: the dict (keys 'epoch') holds no state_dict: neither under a conventional key (model_state_dict, state_dict, model, net, network, model_state, weights, params) nor as its only dict of tensors; save one with torch.save(model.state_dict(), path)",
    );
  });

  test('bad options get one message shape', () => {
    expect(() => readTorchCheckpoint(join(generated, 'tiny_mlp.ckpt'), { expected: {} } as object)).toThrow(
      new TypeError("Unknown option 'expected' for readTorchCheckpoint; known options: source, expect"),
    );
    expect(() => readTorchCheckpoint(42 as unknown as string)).toThrow(
      new RangeError('Expected Uint8Array or path for input but received 42 of type number'),
    );
  });
});
