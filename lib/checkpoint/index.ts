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
export { explainTorchRefusal, readTorchCheckpoint, readTorchContents, type TorchCheckpointOptions } from './torch-zip';
export { STATE_DICT_KEYS, type TorchAdamState, type TorchContents } from './torch-layout';
export { linearChain, type LinearChain } from './linear-chain';
export { FCNET_METADATA_KEY, fcnetMetadataOf, readFcnetMetadata, type FcnetMetadata } from './fcnet-metadata';
export {
  isTrainingCheckpoint,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
  TRAINING_CHECKPOINT_VERSION,
  TRAINING_METADATA_KEYS,
  type TrainingCheckpoint,
  type TrainingSettings,
} from './training-checkpoint';
export {
  ACTIVATIONS,
  describeWeights,
  layerSizesOf,
  loadMLP,
  readModelWeights,
  type Activation,
  type LoadMLPOptions,
  type ModelWeights,
  type ReadModelWeightsOptions,
  type WeightsFormat,
} from './model-weights';
export { loadTrainingStart, type TrainingStart, type TrainingStartOptions } from './training-start';
