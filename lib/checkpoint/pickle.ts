// A pickle reader that runs nothing from the file: an allow-list VM, after PyTorch's `weights_only` unpickler.
// It knows only the opcodes a saved state_dict uses (protocols 2 and 4). A global is a name looked up in the
// caller's allow-list, whose entries are plain TypeScript functions; no name leads to code of our choosing.
// Before running anything it walks the whole pickle once, refusing unknown opcodes and globals up front.
//
// Values: None → null, bool → boolean, int/float → number, str → string, list → array,
// tuple → frozen array, dict → Map, a global → PickleGlobal, and whatever the allowed functions return.
//
// Resources are bounded here, in the VM, whatever format wraps the pickle: its length, the instructions run,
// the objects made, the items of any one container, string lengths and the memo (PICKLE_LIMITS). Every item a
// container holds was pushed by one instruction, so memory and work grow no faster than the instructions run.
// A memo lets a pickle share one value many times (a tuple of a tuple of ... each twice is 2^n leaves from n
// instructions): nothing here walks values, and messages show a few items of a value (io/bounded-text).

import { clipText } from '../io/bounded-text';

/** What one pickle may cost; a pickle that needs more is refused with the limit it passed. */
export interface PickleLimits {
  /** Bytes of the pickle itself. */
  maxBytes: number;
  /** Instructions (opcodes) run, in each run. */
  maxInstructions: number;
  /** Lists, tuples, dicts, globals and call results made. */
  maxObjects: number;
  /** Items in one list, tuple, dict or stack frame. */
  maxContainerItems: number;
  /** UTF-8 bytes of one string. */
  maxStringBytes: number;
  maxMemoEntries: number;
  /** MARKs open at once. */
  maxMarkDepth: number;
}

/**
 * The defaults. A state_dict's pickle takes about 150 bytes, 25 instructions and 5 objects per tensor, so these
 * admit some 200,000 tensors; the costliest pickles under them are measured in docs/reliability.md.
 */
export const PICKLE_LIMITS: Readonly<PickleLimits> = Object.freeze({
  maxBytes: 32 * 2 ** 20,
  maxInstructions: 5_000_000,
  maxObjects: 1_000_000,
  maxContainerItems: 1_000_000,
  maxStringBytes: 2 ** 20,
  maxMemoEntries: 1_000_000,
  maxMarkDepth: 1_000,
});

/** What a run cost, for tests and diagnostics: filled in as the VM goes. */
export interface PickleCounters {
  /** Instructions run (the last run, when the pickle ran twice). */
  instructions: number;
  /** Instructions plus the items moved between the stack and containers. */
  work: number;
  objects: number;
  largestContainer: number;
  memoEntries: number;
}

const MAX_PROTOCOL = 5;
const MAX_GLOBAL_NAME_BYTES = 1_000;

/** A global named by the pickle (after the allow-list check), e.g. 'collections OrderedDict'. */
export class PickleGlobal {
  constructor(readonly name: string) {}
}

/** What an allowed global may do. Both are plain data transformations; errors they throw get the source. */
export interface AllowedGlobal {
  /** REDUCE: the value built from the argument tuple. Without it, the global can't be called. */
  call?(args: readonly unknown[]): unknown;
  /** BUILD on a value that `call` made: applies the pickled state. Without it, BUILD is refused. */
  build?(target: unknown, state: unknown): void;
}

export interface UnpickleOptions {
  /** Names the input in error messages. */
  source: string;
  /** By 'module name', as the GLOBAL opcode spells it. */
  globals: ReadonlyMap<string, AllowedGlobal>;
  /** BINPERSID: turns a persistent id into a value (PyTorch's storages). */
  persistentLoad(pid: unknown): unknown;
  /** What a refused global most likely means, added to the refusal (e.g. a whole pickled module). */
  explainRefusal?(name: string): string | undefined;
  /** Lower (or, for a caller that knows better, higher) limits than PICKLE_LIMITS. */
  limits?: Partial<PickleLimits>;
  /** Filled in with what the run cost. */
  counters?: PickleCounters;
}

/** Python's dict keys can be any hashable value; a state_dict's are strings, so only scalars are accepted. */
type PickleKey = string | number | boolean | null;

export const isPickleTuple = (value: unknown): value is readonly unknown[] => Array.isArray(value) && Object.isFrozen(value);
const isPickleList = (value: unknown): value is unknown[] => Array.isArray(value) && !Object.isFrozen(value);
const isPickleKey = (value: unknown): value is PickleKey =>
  value === null || ['string', 'number', 'boolean'].includes(typeof value);

/** Opcodes by byte, with the kind of argument that follows each in the stream. */
const OPCODES: Record<number, { name: string; argument: Argument }> = {};
type Argument = 'none' | 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'f64be' | 'string1' | 'string4' | 'long1' | 'lines2';
function opcode(char: string, name: string, argument: Argument = 'none'): number {
  const byte = char.charCodeAt(0);
  OPCODES[byte] = { name, argument };
  return byte;
}
const PROTO = opcode('\x80', 'PROTO', 'u8');
const FRAME = opcode('\x95', 'FRAME', 'u64');
const STOP = opcode('.', 'STOP');
const MARK = opcode('(', 'MARK');
const EMPTY_DICT = opcode('}', 'EMPTY_DICT');
const EMPTY_LIST = opcode(']', 'EMPTY_LIST');
const EMPTY_TUPLE = opcode(')', 'EMPTY_TUPLE');
const NONE = opcode('N', 'NONE');
const NEWTRUE = opcode('\x88', 'NEWTRUE');
const NEWFALSE = opcode('\x89', 'NEWFALSE');
const BININT = opcode('J', 'BININT', 'i32');
const BININT1 = opcode('K', 'BININT1', 'u8');
const BININT2 = opcode('M', 'BININT2', 'u16');
const LONG1 = opcode('\x8a', 'LONG1', 'long1');
const BINFLOAT = opcode('G', 'BINFLOAT', 'f64be');
const BINUNICODE = opcode('X', 'BINUNICODE', 'string4');
const SHORT_BINUNICODE = opcode('\x8c', 'SHORT_BINUNICODE', 'string1');
const BINPUT = opcode('q', 'BINPUT', 'u8');
const LONG_BINPUT = opcode('r', 'LONG_BINPUT', 'u32');
const MEMOIZE = opcode('\x94', 'MEMOIZE');
const BINGET = opcode('h', 'BINGET', 'u8');
const LONG_BINGET = opcode('j', 'LONG_BINGET', 'u32');
const TUPLE = opcode('t', 'TUPLE');
const TUPLE1 = opcode('\x85', 'TUPLE1');
const TUPLE2 = opcode('\x86', 'TUPLE2');
const TUPLE3 = opcode('\x87', 'TUPLE3');
const APPEND = opcode('a', 'APPEND');
const APPENDS = opcode('e', 'APPENDS');
const SETITEM = opcode('s', 'SETITEM');
const SETITEMS = opcode('u', 'SETITEMS');
const GLOBAL = opcode('c', 'GLOBAL', 'lines2');
const STACK_GLOBAL = opcode('\x93', 'STACK_GLOBAL');
const REDUCE = opcode('R', 'REDUCE');
const BUILD = opcode('b', 'BUILD');
const BINPERSID = opcode('Q', 'BINPERSID');

interface Instruction {
  opcode: number;
  offset: number;
  argument: number | string;
  /** Offset of the next instruction. */
  next: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function describeOpcode(byte: number): string {
  const printable = byte >= 0x20 && byte < 0x7f ? ` ('${String.fromCharCode(byte)}')` : '';
  return `0x${byte.toString(16).padStart(2, '0')}${printable}`;
}

/** A new Error whose message starts with the source. */
type Fail = (problem: string) => Error;

/** Decodes the instruction at `offset`, checking that its argument fits in the remaining bytes. */
function readInstruction(bytes: Uint8Array, view: DataView, offset: number, source: string, fail: Fail, limits: PickleLimits): Instruction {
  const code = bytes[offset];
  const spec = OPCODES[code];
  if (!spec) throw new Error(`Refusing to load ${source}: pickle opcode ${describeOpcode(code)} at offset ${offset} is not supported`);
  const at = offset + 1;
  const remaining = bytes.length - at;
  const need = (count: number): void => {
    if (count > remaining) throw fail(`pickle is truncated: ${spec.name} at offset ${offset} needs ${count} bytes but ${remaining} remain`);
  };
  const done = (argument: number | string, length: number): Instruction => ({ opcode: code, offset, argument, next: at + length });
  switch (spec.argument) {
    case 'none': return done(0, 0);
    case 'u8': need(1); return done(bytes[at], 1);
    case 'u16': need(2); return done(view.getUint16(at, true), 2);
    case 'u32': need(4); return done(view.getUint32(at, true), 4);
    case 'i32': need(4); return done(view.getInt32(at, true), 4);
    case 'u64': {
      need(8);
      const length = view.getBigUint64(at, true);
      if (length > BigInt(remaining - 8)) throw fail(`pickle is truncated: FRAME at offset ${offset} announces ${length} bytes but ${remaining - 8} remain`);
      return done(Number(length), 8);
    }
    case 'f64be': need(8); return done(view.getFloat64(at, false), 8);
    case 'string1':
    case 'string4': {
      const lengthBytes = spec.argument === 'string1' ? 1 : 4;
      need(lengthBytes);
      const length = lengthBytes === 1 ? bytes[at] : view.getUint32(at, true);
      need(lengthBytes + length);
      if (length > limits.maxStringBytes) throw fail(`pickle string at offset ${offset} is ${length} bytes, over the limit of ${limits.maxStringBytes}`);
      let text: string;
      try {
        text = utf8.decode(bytes.subarray(at + lengthBytes, at + lengthBytes + length));
      } catch {
        throw fail(`pickle string at offset ${offset} is not valid UTF-8`);
      }
      return done(text, lengthBytes + length);
    }
    case 'long1': {
      need(1);
      const length = bytes[at];
      need(1 + length);
      return done(decodeLong(bytes.subarray(at + 1, at + 1 + length), offset, fail), 1 + length);
    }
    case 'lines2': {
      // 'module\nname\n', ASCII
      const firstEnd = bytes.indexOf(0x0a, at);
      const secondEnd = firstEnd < 0 ? -1 : bytes.indexOf(0x0a, firstEnd + 1);
      if (secondEnd < 0) throw fail(`pickle is truncated: GLOBAL at offset ${offset} has no two newline-ended lines`);
      const lines = bytes.subarray(at, secondEnd);
      if (lines.length > MAX_GLOBAL_NAME_BYTES) throw fail(`pickle GLOBAL at offset ${offset} is longer than ${MAX_GLOBAL_NAME_BYTES} bytes`);
      if (lines.some((byte) => byte > 0x7e || (byte < 0x20 && byte !== 0x0a))) {
        throw fail(`pickle GLOBAL at offset ${offset} is not printable ASCII`);
      }
      const name = String.fromCharCode(...lines).replace('\n', ' ');
      return done(name, secondEnd + 1 - at);
    }
  }
}

/** LONG1's little-endian two's-complement integer, which must fit a JS number exactly. */
function decodeLong(digits: Uint8Array, offset: number, fail: Fail): number {
  let value = 0n;
  for (let i = digits.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(digits[i]);
  if (digits.length > 0 && digits[digits.length - 1] & 0x80) value -= 1n << BigInt(8 * digits.length);
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw fail(`pickle LONG1 at offset ${offset} holds ${clipText(String(value), 30)}, beyond the integers a number holds exactly`);
  }
  return Number(value);
}

function refusedGlobal(name: string, { source, globals, explainRefusal }: UnpickleOptions): Error {
  const hint = explainRefusal?.(name);
  return new Error(`Refusing to load ${source}: pickle global '${clipText(name)}' is not allowed${hint ? `: ${hint}` : ` (allowed: ${[...globals.keys()].join(', ')})`}`);
}

function limitsOf(options: UnpickleOptions): PickleLimits {
  return { ...PICKLE_LIMITS, ...options.limits };
}

/**
 * Walks the whole pickle without running it: every opcode must be known, every GLOBAL allowed, and a STOP
 * must end it. STACK_GLOBAL takes its name from the stack, so it is checked when it runs. Returns the offset
 * just past the STOP (a file may hold several pickles in a row, as PyTorch's legacy format does).
 */
export function checkPickle(bytes: Uint8Array, options: UnpickleOptions): number {
  const fail: Fail = (problem) => new Error(`${options.source}: ${problem}`);
  const limits = limitsOf(options);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0, count = 1; offset < bytes.length; count++) {
    // The pickle's own bytes: what follows its STOP in a file (the legacy format's storages) does not count.
    if (offset >= limits.maxBytes) throw fail(`pickle is longer than the limit of ${limits.maxBytes} bytes`);
    if (count > limits.maxInstructions) throw fail(`pickle has more than ${limits.maxInstructions} instructions`);
    const instruction = readInstruction(bytes, view, offset, options.source, fail, limits);
    if (instruction.opcode === GLOBAL && !options.globals.has(instruction.argument as string)) {
      throw refusedGlobal(instruction.argument as string, options);
    }
    if (instruction.opcode === STOP) return instruction.next;
    offset = instruction.next;
  }
  throw fail('pickle is truncated: it ends without STOP');
}

/** Runs the pickle in `bytes` on the allow-list VM and returns its value. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  checkPickle(bytes, options);
  const { source, globals } = options;
  const limits = limitsOf(options);
  const fail: Fail = (problem) => new Error(`${source}: ${problem}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counters: PickleCounters = Object.assign(options.counters ?? {}, { instructions: 0, work: 0, objects: 0, largestContainer: 0, memoEntries: 0 });

  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const makers = new WeakMap<object, AllowedGlobal>(); // which global's call made a value, for BUILD

  // Where the VM is, for messages: set by the loop below, read by the helpers.
  let offset = 0;
  let code = 0;
  const where = (): string => `${OPCODES[code].name} at offset ${offset}`;
  const malformed = (problem: string): Error => fail(`pickle is malformed: ${where()} ${problem}`);
  const overLimit = (problem: string): Error => fail(`pickle is refused: ${where()} ${problem}`);
  // A container about to hold `size` items (the stack frame included).
  const holding = (size: number, what: string): void => {
    if (size > limits.maxContainerItems) throw overLimit(`would make ${what} of more than ${limits.maxContainerItems} items`);
    counters.largestContainer = Math.max(counters.largestContainer, size);
  };
  const made = <T>(value: T): T => {
    if (++counters.objects > limits.maxObjects) throw overLimit(`would make more than ${limits.maxObjects} lists, tuples, dicts and objects`);
    return value;
  };
  const push = (value: unknown): void => {
    holding(stack.length + 1, 'the stack');
    stack.push(value);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw malformed('needs a value but the stack is empty');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw malformed('needs a value but the stack is empty');
    return stack[stack.length - 1];
  };
  const popToMark = (): unknown[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) throw malformed('needs a MARK but there is none');
    stack = outer;
    return items;
  };
  const memoize = (index: number): void => {
    if (!memo.has(index) && memo.size >= limits.maxMemoEntries) throw overLimit(`would grow the memo past ${limits.maxMemoEntries} entries`);
    memo.set(index, top());
    counters.memoEntries = memo.size;
  };
  const setItems = (dict: unknown, items: readonly unknown[]): void => {
    if (!(dict instanceof Map)) throw malformed('needs a dict');
    counters.work += items.length;
    for (let i = 0; i < items.length; i += 2) {
      if (!isPickleKey(items[i])) throw malformed('has a dict key that is not a string, number, boolean or None');
      dict.set(items[i], items[i + 1]);
      holding(dict.size, 'a dict');
    }
  };
  const appendAll = (list: unknown, items: readonly unknown[]): void => {
    if (!isPickleList(list)) throw malformed('needs a list');
    holding(list.length + items.length, 'a list');
    counters.work += items.length;
    for (const item of items) list.push(item);
  };
  const tuple = (items: unknown[]): readonly unknown[] => {
    counters.work += items.length;
    return made(Object.freeze(items));
  };
  const runCallback = <T>(what: string, callback: () => T): T => {
    try {
      return callback();
    } catch (error) {
      throw fail(`${clipText((error as Error)?.message ?? String(error), 1000)} (in ${what} at pickle offset ${offset})`);
    }
  };

  for (;;) {
    const instruction = readInstruction(bytes, view, offset, source, fail, limits);
    code = instruction.opcode;
    const argument = instruction.argument;
    counters.instructions++;
    counters.work++;
    switch (code) {
      case PROTO:
        if ((argument as number) > MAX_PROTOCOL) throw malformed(`names protocol ${argument}; the highest known is ${MAX_PROTOCOL}`);
        break;
      case FRAME: break; // only a hint for buffered readers
      case STOP: {
        const result = pop();
        if (stack.length > 0 || marks.length > 0) throw malformed('leaves values or marks behind');
        return result;
      }
      case MARK:
        if (marks.length >= limits.maxMarkDepth) throw overLimit(`nests marks deeper than ${limits.maxMarkDepth}`);
        marks.push(stack);
        stack = [];
        break;
      case EMPTY_DICT: push(made(new Map())); break;
      case EMPTY_LIST: push(made([])); break;
      case EMPTY_TUPLE: push(tuple([])); break;
      case NONE: push(null); break;
      case NEWTRUE: push(true); break;
      case NEWFALSE: push(false); break;
      case BININT: case BININT1: case BININT2: case LONG1: case BINFLOAT:
      case BINUNICODE: case SHORT_BINUNICODE:
        push(argument);
        break;
      case BINPUT: case LONG_BINPUT: memoize(argument as number); break;
      case MEMOIZE: memoize(memo.size); break;
      case BINGET: case LONG_BINGET:
        if (!memo.has(argument as number)) throw malformed(`reads memo entry ${argument}, which was never stored`);
        push(memo.get(argument as number));
        break;
      case TUPLE: push(tuple(popToMark())); break;
      case TUPLE1: case TUPLE2: case TUPLE3: {
        const items = [];
        for (let n = code - TUPLE1 + 1; n > 0; n--) items.unshift(pop());
        push(tuple(items));
        break;
      }
      case APPEND: {
        const value = pop();
        appendAll(top(), [value]);
        break;
      }
      case APPENDS: {
        const items = popToMark();
        appendAll(top(), items);
        break;
      }
      case SETITEM: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case SETITEMS: {
        const items = popToMark();
        if (items.length % 2 !== 0) throw malformed('has an odd number of keys and values');
        setItems(top(), items);
        break;
      }
      case GLOBAL: case STACK_GLOBAL: {
        let name = argument as string;
        if (code === STACK_GLOBAL) {
          const qualifiedName = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof qualifiedName !== 'string') throw malformed('needs two strings');
          name = `${module} ${qualifiedName}`;
        }
        if (!globals.has(name)) throw refusedGlobal(name, options);
        push(made(new PickleGlobal(name)));
        break;
      }
      case REDUCE: {
        const args = pop();
        const callable = pop();
        if (!(callable instanceof PickleGlobal)) throw malformed('needs a global to call');
        if (!isPickleTuple(args)) throw malformed('needs a tuple of arguments');
        const allowed = globals.get(callable.name) as AllowedGlobal;
        const call = allowed.call;
        if (!call) throw new Error(`Refusing to load ${source}: pickle calls '${callable.name}', which may only be named, not called`);
        const value = runCallback(callable.name, () => call(args));
        if (typeof value === 'object' && value !== null) makers.set(made(value), allowed);
        push(value);
        break;
      }
      case BUILD: {
        const state = pop();
        const target = top();
        const build = typeof target === 'object' && target !== null ? makers.get(target)?.build : undefined;
        if (!build) throw new Error(`Refusing to load ${source}: pickle BUILD at offset ${offset} sets state on a value that does not allow it`);
        runCallback('BUILD', () => build(target, state));
        break;
      }
      case BINPERSID: {
        const pid = pop();
        push(made(runCallback('persistent id', () => options.persistentLoad(pid))));
        break;
      }
      default:
        throw new Error(`Refusing to load ${source}: pickle opcode ${describeOpcode(code)} at offset ${offset} is not supported`);
    }
    offset = instruction.next;
    if (offset >= bytes.length) throw fail('pickle is truncated: it ends without STOP');
  }
}
