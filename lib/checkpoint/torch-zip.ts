// PyTorch's checkpoint files (torch.save since 1.6; torch-legacy.ts reads the format before): a zip archive holding <archive>/data.pkl (the pickle),
// <archive>/data/<key> (one raw little-endian storage each), optionally <archive>/byteorder, and others we
// ignore (version, serialization_id). The <archive> folder name varies. Read without running any of it.

import { unzipSync, type UnzipFileInfo } from 'fflate';
import { checkKnownOptions, invalidArgument } from '../check';
import { formatItems, quote } from '../io/bounded-text';
import type { StateDict } from '../tensor';
import { checkExpectedShapes, checkExpectOption, type ExpectedShapes } from './expected-shapes';
import { PICKLE_LIMITS, unpickle } from './pickle';
import { readCheckpointFile } from './read-checkpoint-file';
import { isLegacyTorchFile, unpickleLegacyTorchFile } from './torch-legacy';
import { torchContentsFromPickle, type TorchContents } from './torch-layout';
import { storageLoader, storageNeeds, TORCH_GLOBALS } from './torch-pickle';

export interface TorchCheckpointOptions {
  /** What error messages call the input (default: the file's path, or 'torch checkpoint' for bytes). */
  source?: string;
  /** The tensors the checkpoint must hold: exactly these names, with these shapes. */
  expect?: ExpectedShapes;
}

// Deflate never expands more than 1032:1, so a larger claim is a lie that would make us allocate for nothing.
const MAX_DEFLATE_RATIO = 1032;

type Fail = (problem: string) => Error;

/** The most bytes an entry may hold, and why, as the refusal says it: 'the pickle needs only 80 of it'. */
type EntryCeiling = (name: string) => { bytes: number; why: string } | undefined;

/**
 * The entries whose names `wanted` accepts, each checked to be as long as the archive says. `ceiling` gives the
 * most bytes an entry may hold, when the caller knows it; an entry claiming more is refused unread.
 */
function unzipEntries(bytes: Uint8Array, wanted: (name: string) => boolean, fail: Fail, ceiling?: EntryCeiling): Map<string, Uint8Array> {
  const seen = new Set<string>();
  let claimed = 0; // compressed bytes of the entries taken: real entries never share bytes, so at most the file
  const declaredSizes = new Map<string, number>();
  let refusal: Error | undefined;
  const refuse = (problem: string): never => {
    refusal = fail(problem);
    throw refusal;
  };
  const accept = ({ name, size, originalSize, compression }: UnzipFileInfo): boolean => {
    const entry = `zip entry ${quote(name)}`;
    if (seen.has(name)) refuse(`${entry} appears twice`);
    seen.add(name);
    if (!wanted(name)) return false;
    if (compression !== 0 && compression !== 8) {
      refuse(`${entry} uses compression method ${compression}; only stored (0) and deflate (8) can be read`);
    }
    if (size > bytes.length) refuse(`${entry} claims ${size} bytes but the file has only ${bytes.length}`);
    claimed += size;
    if (claimed > bytes.length) refuse(`zip entries up to ${quote(name)} claim ${claimed} bytes in all but the file has only ${bytes.length}`);
    if (compression === 0 && originalSize !== size) refuse(`${entry} is stored but claims ${originalSize} bytes from ${size}`);
    if (originalSize > size * MAX_DEFLATE_RATIO + 1024) {
      refuse(`${entry} claims ${originalSize} bytes from ${size}, more than deflate can produce`);
    }
    const most = ceiling?.(name);
    if (compression === 8 && most !== undefined && originalSize > most.bytes) {
      refuse(`${entry} inflates to ${originalSize} bytes but ${most.why}`);
    }
    declaredSizes.set(name, originalSize);
    return true;
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: accept });
  } catch (error) {
    if (error === refusal) throw error;
    const reason = (error as Error)?.message ?? String(error);
    throw fail(`not a readable zip archive (${reason}); the file may be truncated or damaged`);
  }
  const entries = new Map<string, Uint8Array>();
  for (const [name, size] of declaredSizes) {
    const data = files[name];
    if (data.length !== size) throw fail(`zip entry ${quote(name)} is truncated: ${data.length} of ${size} bytes`);
    entries.set(name, data);
  }
  return entries;
}

/**
 * What a refused global most likely means in a torch.save file: the common things people save beside, or
 * instead of, a state_dict. Undefined for anything else (such as os.system), which is refused as it is.
 */
export function explainTorchRefusal(name: string): string | undefined {
  const [module, qualifiedName = ''] = name.split(' ');
  if (module === '__main__' || module.startsWith('torch.nn.')) {
    return 'the file holds a whole pickled module (torch.save(model)), and loading one runs its class\'s code; save its weights with torch.save(model.state_dict(), path)';
  }
  if (module.startsWith('__torch__')) return 'the file is a TorchScript program (torch.jit.save), not a state_dict; save model.state_dict() with torch.save';
  if (module.startsWith('numpy')) {
    return 'the file holds numpy values (a loss or an accuracy saved as numpy.float64, ...) beside the weights; save them as Python numbers (float(x)) or save only model.state_dict()';
  }
  if (module === 'argparse' && qualifiedName === 'Namespace') {
    return "the file holds the script's argparse.Namespace beside the weights; save vars(args), a dict, or only model.state_dict()";
  }
  if (module.startsWith('torch.optim')) return 'the file holds an optimizer or scheduler object; save optimizer.state_dict() and model.state_dict() instead';
  return undefined;
}

function checkSignature(bytes: Uint8Array, fail: Fail): 'zip' | 'legacy' {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  if (isZip) return 'zip';
  if (isLegacyTorchFile(bytes)) return 'legacy';
  if (bytes[0] === 0x80) {
    throw fail("is a pickle but not one torch.save wrote (no zip archive, no legacy magic number); save the weights with torch.save(model.state_dict(), path)");
  }
  throw fail('is not a PyTorch checkpoint (torch.save writes a zip archive, or before PyTorch 1.6 a pickle file, and this is neither)');
}

/** Reads the archive's folder name, pickle and byte order, leaving the storages for later. */
function openArchive(bytes: Uint8Array, fail: Fail): { folder: string; pickle: Uint8Array } {
  const topLevel = /^[^/]+\/(data\.pkl|byteorder|constants\.pkl)$/;
  // A small deflated entry may claim up to 1032 times its size: a pickle is refused unread past the VM's limit.
  const ceiling: EntryCeiling = (name) =>
    name.endsWith('.pkl')
      ? { bytes: PICKLE_LIMITS.maxBytes, why: `a pickle may take at most ${PICKLE_LIMITS.maxBytes}` }
      : { bytes: 16, why: 'a byteorder entry holds at most 16' };
  const entries = unzipEntries(bytes, (name) => topLevel.test(name), fail, ceiling);
  if ([...entries.keys()].some((name) => name.endsWith('/constants.pkl'))) {
    throw fail('is a TorchScript archive (torch.jit.save), a program rather than a state_dict; save the weights with torch.save(model.state_dict(), path)');
  }
  const pickles = [...entries.keys()].filter((name) => name.endsWith('/data.pkl'));
  if (pickles.length === 0) throw fail('the zip archive has no <archive>/data.pkl; is it a PyTorch checkpoint?');
  if (pickles.length > 1) throw fail(`the zip archive holds more than one pickle: ${formatItems(pickles, quote)}`);
  const folder = pickles[0].slice(0, -'/data.pkl'.length);
  const byteOrder = entries.get(`${folder}/byteorder`);
  if (byteOrder !== undefined) {
    const order = new TextDecoder().decode(byteOrder);
    if (order === 'big') throw fail("its byteorder is 'big'; only little-endian checkpoints can be read");
    if (order !== 'little') throw fail(`its byteorder entry holds ${JSON.stringify(order.slice(0, 16))}, neither 'little' nor 'big'`);
  }
  return { folder, pickle: entries.get(pickles[0]) as Uint8Array };
}

/** The object a torch.save file (zip archive or legacy format) holds, its tensors as views on storages. */
function unpickleTorchFile(bytes: Uint8Array, source: string): unknown {
  const fail: Fail = (problem) => new Error(`${source}: ${problem}`);
  if (checkSignature(bytes, fail) === 'legacy') return unpickleLegacyTorchFile(bytes, source, explainTorchRefusal);
  const { folder, pickle } = openArchive(bytes, fail);

  // Storages are unzipped only once the pickle has passed its checks, and only those it names, to no more than it needs:
  // a first run of the pickle, reading nothing, learns how many bytes each must hold, so a compressed entry claiming more
  // (a zip bomb) is refused before it is inflated.
  const needs = new Map<string, number>();
  const options = { source, globals: TORCH_GLOBALS, explainRefusal: explainTorchRefusal };
  unpickle(pickle, { ...options, persistentLoad: storageNeeds(needs) });
  const storagePrefix = `${folder}/data/`;
  const keyOf = (name: string): string => name.slice(storagePrefix.length);
  let storages: Map<string, Uint8Array> | undefined;
  const readStorage = (key: string): Uint8Array | undefined => {
    // Unprefixed errors: the pickle VM adds the source and where in the pickle the storage was named.
    storages ??= unzipEntries(bytes, (name) => name.startsWith(storagePrefix) && needs.has(keyOf(name)), (problem) => new Error(problem),
      (name) => {
        const most = needs.get(keyOf(name)) as number;
        return { bytes: most, why: `the pickle needs only ${most} of it` };
      });
    return storages.get(storagePrefix + key);
  };
  return unpickle(pickle, { ...options, persistentLoad: storageLoader(readStorage) });
}

function checkOptions(input: unknown, options: TorchCheckpointOptions, reader: string): void {
  if (typeof options !== 'object' || options === null) throw invalidArgument('object', 'options', options);
  checkKnownOptions(reader, options, ['source', 'expect']);
  if (options.source !== undefined && typeof options.source !== 'string') throw invalidArgument('string', 'source', options.source);
  checkExpectOption(options.expect);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalidArgument('Uint8Array or path', 'input', input);
}

/**
 * What a torch.save file holds: its state_dict (found in a checkpoint dict under a conventional key, or as its
 * only dict of tensors), the key that held it, and Adam's state when the dict has an optimizer's. Reads the zip
 * archives of PyTorch 1.6 on and the legacy format before them. The pickle runs on an allow-list VM: a file
 * naming any other global (such as os.system) is refused before anything runs, and nothing in it is executed.
 */
export function readTorchContents(input: Uint8Array | string, options: TorchCheckpointOptions = {}): TorchContents {
  checkOptions(input, options, 'readTorchContents');
  const source = options.source ?? (typeof input === 'string' ? input : 'torch checkpoint');
  const bytes = typeof input === 'string' ? readCheckpointFile(input) : input;
  const contents = torchContentsFromPickle(unpickleTorchFile(bytes, source), source);
  if (options.expect) {
    const found = Object.entries(contents.stateDict).map(([name, { shape }]) => ({ name, shape }));
    checkExpectedShapes(found, options.expect, (problem) => new Error(`${source}: ${problem}`));
  }
  return contents;
}

/**
 * The state_dict in a PyTorch checkpoint (the bytes, or a path to read), every tensor converted to a
 * contiguous float32 copy: readTorchContents's state_dict.
 */
export function readTorchCheckpoint(input: Uint8Array | string, options: TorchCheckpointOptions = {}): StateDict {
  checkOptions(input, options, 'readTorchCheckpoint');
  return readTorchContents(input, options).stateDict;
}
