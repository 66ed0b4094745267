// fcnet's public API.
export { MLP, parameterLayout, type MLPOptions, type ParameterInfo, type InputKind } from './model';
export { activations, lossNames, type Activation, type LossName, type NetworkSpec } from './network';
export { Adam, type AdamOptions, type AdamStateDict } from './adam';
export { fit, evaluate, clipGradNorm, type FitOptions, type FitResult, type StepInfo, type EpochInfo, type Evaluation, type TrainingPosition } from './train';
export { loadMnist, mnistDataPackageDir, type Mnist } from './data/mnist';
export { createDataset, createFeatureDataset, sortedClassNames, type Dataset, type FeatureDataset, type FeatureDatasetOptions, type AnyDataset } from './data/dataset';
export { readCsvDataset, tasks, type CsvOptions, type Task } from './data/csv';
export { readNpy, parseNpy, readNpyDataset, type NpyArray } from './data/npy';
export { openNpyFileDataset, isNpyFileDataset, type NpyFileDataset } from './data/npy-file';
export { splitDataset, subsetDataset, type SplitOptions } from './data/split';
export { fitStandardization, type Standardization } from './data/standardize';
export { SGD, AdamW, type SGDOptions, type AdamWOptions, type Optimizer } from './optimizers';
export { type LrSchedule, type EarlyStopping, type Monitor, type RunState } from './schedules';
export { type ClassMetrics } from './metrics';
export { parseIdx, readIdxFile, DEFAULT_MAX_IDX_BYTES, type IdxArray, type IdxReadOptions } from './data/idx';
export { backends, resolveBackend, type BackendChoice, type BackendReport } from './backends';
export type { BackendName, AdamHyper, Kernels, Engine, Features, Targets, DropoutSource } from './backends/types';
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
  saveMLP,
  restoreOptimizer,
  type OptimizerCheckpoint,
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
