// Weights and checkpoint files are read whole, through the one file helper, under one ceiling.
import { readRegularFile } from '../io/read-file';

/**
 * Larger weights files are refused before they are read: 2 GiB - 1, what Node's readFileSync allowed before (and
 * what a Buffer holds on Node 18); a network of about 500 million float32 parameters.
 */
export const MAX_CHECKPOINT_FILE_BYTES = 2 ** 31 - 1;

/** The bytes of a weights or checkpoint file: a regular file of at most MAX_CHECKPOINT_FILE_BYTES. */
export function readCheckpointFile(path: string): Buffer {
  return readRegularFile(path, { what: 'a weights or checkpoint file', maxBytes: MAX_CHECKPOINT_FILE_BYTES });
}
