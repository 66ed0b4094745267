// Standardisation fitted on a training set and saved with the model, as scikit-learn's StandardScaler:
// x' = (x − mean) / std per feature, with the population standard deviation (ddof = 0) and std 1 for a feature
// that does not vary. The model applies it (MLPOptions inputMean/inputStd) in training, evaluation and predict.
import { datasetFeatures, isPixelDataset, type AnyDataset } from './dataset';

export interface Standardization {
  /** (D) each feature's mean over the training rows. */
  mean: Float32Array;
  /** (D) each feature's population standard deviation; 1 where it is (nearly) 0. */
  std: Float32Array;
}

/**
 * The mean and standard deviation of each feature of `data` (fit on the training split only, so no held-out
 * row leaks into the model): sums in float64, two passes, population std as StandardScaler; a std below
 * 10·ε (float64's) is replaced by 1, as scikit-learn's _handle_zeros_in_scale does for zero variance. Pixel features (uint8) are measured after their 1/255 scaling, where the transform applies.
 * Use: new MLP({ ..., inputMean: s.mean, inputStd: s.std }).
 */
export function fitStandardization(data: AnyDataset): Standardization {
  const features = datasetFeatures(data);
  const scale = isPixelDataset(data) || features instanceof Uint8Array ? 1 / 255 : 1;
  const { n, d } = data;
  const sum = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) sum[c] += features[r * d + c] * scale;
  const mean = sum.map((s) => s / n);
  const squares = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) {
      const e = features[r * d + c] * scale - mean[c];
      squares[c] += e * e;
    }
  }
  const std = new Float32Array(d);
  for (let c = 0; c < d; c++) {
    const s = Math.sqrt(squares[c] / n);
    std[c] = s < 10 * Number.EPSILON ? 1 : s;
  }
  return { mean: Float32Array.from(mean), std };
}
