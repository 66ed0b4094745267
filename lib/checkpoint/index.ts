// Checkpoint files: safetensors (fcnet's own format, read and written) and PyTorch's torch.save zip files (read).

export { writeFileAtomic } from './atomic-write';
export type { ExpectedShapes } from './expected-shapes';
export {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  readSafetensorsFile,
  writeSafetensorsFile,
  type SafetensorsContents,
  type SafetensorsReadOptions,
} from './safetensors';
export { readTorchCheckpoint, type TorchCheckpointOptions } from './torch-zip';
