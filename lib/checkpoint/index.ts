// Checkpoint files: safetensors (fcnet's own format, read and written) and PyTorch's torch.save zip files (read).

export { writeFileAtomic } from './atomic-write';
export type { ExpectedShapes } from './expected-shapes';
export {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  MAX_HEADER_VALUES,
  readSafetensorsFile,
  writeSafetensorsFile,
  type SafetensorsContents,
  type SafetensorsReadOptions,
} from './safetensors';
export { readTorchCheckpoint, type TorchCheckpointOptions } from './torch-zip';
export {
  isTrainingCheckpoint,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_VERSION,
  TRAINING_METADATA_KEYS,
  type TrainingCheckpoint,
  type TrainingSettings,
} from './training-checkpoint';
export { layerSizesOf, loadMLP, readModelWeights, type LoadMLPOptions, type ModelWeights, type WeightsFormat } from './model-weights';
