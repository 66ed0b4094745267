// fcnet's public API.
export { MLP, parameterLayout, type MLPOptions, type ParameterInfo } from './model';
export { Adam, type AdamOptions, type AdamStateDict } from './adam';
export { fit, evaluate, type FitOptions, type FitResult, type StepInfo, type EpochInfo, type Evaluation, type TrainingPosition } from './train';
export { loadMnist, mnistDataPackageDir, type Mnist } from './data/mnist';
export { createDataset, type Dataset } from './data/dataset';
export { parseIdx, readIdxFile, DEFAULT_MAX_IDX_BYTES, type IdxArray, type IdxReadOptions } from './data/idx';
export { backends, resolveBackend, type BackendChoice, type BackendReport } from './backends';
export type { BackendName, AdamHyper, Kernels, Engine } from './backends/types';
export { Rng, type RngState } from './rng';
export type { Tensor, StateDict } from './tensor';
export {
  readSafetensorsFile,
  writeSafetensorsFile,
  readTorchCheckpoint,
  readTorchContents,
  linearChain,
  loadTrainingStart,
  saveTrainingCheckpoint,
  loadTrainingCheckpoint,
  readModelWeights,
  loadMLP,
  type SafetensorsContents,
  type TrainingCheckpoint,
  type TrainingSettings,
  type ModelWeights,
  type LoadMLPOptions,
  type ReadModelWeightsOptions,
  type TorchContents,
  type TrainingStart,
  type TrainingStartOptions,
} from './checkpoint';
export { exportOnnx, encodeOnnx, type ExportableModel, type OnnxExportOptions } from './onnx/export';
