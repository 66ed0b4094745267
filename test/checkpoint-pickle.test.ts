// The allow-list pickle VM on its own: Python's values come out as plain data, and a refused global stops
// everything before a single allowed function has run.
import { unpickle, type AllowedGlobal } from '../lib/checkpoint/pickle';
import { PickleBuilder } from './fixtures-gen/pickle-builder';

// From /usr/bin/python3: pickle.dumps({'list': [1, 2.5, None, True, False, 'naïve', (1, 2), (), (3,), (4, 5, 6)],
//   'neg': -70000, 'big': 2**40, 'm1': -1, 'u16': 65535}, protocol=P).hex(), for P = 2 and 4.
const PROTOCOL_2 =
  '80027d71002858040000006c69737471015d7102284b014740040000000000004e888958060000006e61c3af766571034b014b02867104294b03' +
  '8571054b044b054b068771066558030000006e656771074a90eefeff580300000062696771088a0600000000000158020000006d3171094afffff' +
  'fff5803000000753136710a4dffff752e';
const PROTOCOL_4 =
  '80049566000000000000007d94288c046c697374945d94284b014740040000000000004e88898c066e61c3af7665944b014b028694294b038594' +
  '4b044b054b068794658c036e6567944a90eefeff8c03626967948a060000000000018c026d31944affffffff8c03753136944dffff752e';

const noGlobals = { source: 'test.pkl', globals: new Map<string, AllowedGlobal>(), persistentLoad: () => null };

test.each([
  ['protocol 2', PROTOCOL_2],
  ['protocol 4', PROTOCOL_4],
])('%s: dicts, lists, tuples, ints, floats, None, booleans and strings', (_, hex) => {
  const value = unpickle(Buffer.from(hex, 'hex'), noGlobals) as Map<string, unknown>;
  expect(value).toEqual(
    new Map<string, unknown>([
      ['list', [1, 2.5, null, true, false, 'naïve', [1, 2], [], [3], [4, 5, 6]]],
      ['neg', -70000],
      ['big', 2 ** 40],
      ['m1', -1],
      ['u16', 65535],
    ]),
  );
  const list = value.get('list') as unknown[];
  expect(Object.isFrozen(list)).toBe(false); // a list
  expect(Object.isFrozen(list[6])).toBe(true); // a tuple
});

test('a refused global stops the pickle before any allowed function runs', () => {
  const calls: string[] = [];
  const options = {
    source: 'test.pkl',
    globals: new Map<string, AllowedGlobal>([['collections OrderedDict', { call: () => (calls.push('OrderedDict'), new Map()) }]]),
    persistentLoad: () => calls.push('persistentLoad'),
  };
  const pickle = new PickleBuilder().proto().global('collections', 'OrderedDict').op(')').op('R')
    .string('pid').op('Q')
    .global('builtins', 'exec').string('print(1)').op('\x85').op('R').op('.').build();
  expect(() => unpickle(pickle, options)).toThrow(
    new Error("Refusing to load test.pkl: pickle global 'builtins exec' is not allowed (allowed: collections OrderedDict)"),
  );
  expect(calls).toEqual([]);
});

test('errors thrown by allowed functions are located in the pickle', () => {
  const options = {
    source: 'test.pkl',
    globals: new Map<string, AllowedGlobal>([['m f', { call: () => { throw new Error('bad arguments'); } }]]),
    persistentLoad: () => null,
  };
  const pickle = new PickleBuilder().proto().global('m', 'f').op(')').op('R').op('.').build();
  expect(() => unpickle(pickle, options)).toThrow(new Error('test.pkl: bad arguments (in m f at pickle offset 8)'));
});
