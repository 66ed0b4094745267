// The last layer and the loss in one kernel: logits = x·wᵀ + b, softmax cross-entropy against the labels,
// its gradient (softmax - onehot) / B, and the gradient at the layer's input through the ReLU below it.
// One block a row: at C = 10 classes the layer is far too small to tile, and fusing saves three launches.
#pragma once

#include "device_compat.cuh"
#include "matrix_view.cuh"

struct OutputLayerArgs {
  MatrixView x;         // (B, I) the layer's input: the ReLU's output, or the images when it is the only layer
  const float* w;       // (C, I)
  const float* b;       // (C)
  int B, I, C;
  float* logits;        // (B, C) written always
  const int* labels;    // (B) classes, or nullptr: logits only
  float* row_loss;      // (B) each row's cross-entropy, or nullptr
  float* dlogits;       // (B, C) (softmax - onehot) / B, or nullptr: no backward
  float* dx;            // (B, I) dlogits · w, zero where x <= 0, or nullptr
  double* loss_sum;     // += Σ row losses (evaluation), or nullptr
  int* correct;         // += rows whose first largest logit is the label (evaluation), or nullptr
  int* loss_not_finite; // = 1 when a row's loss is NaN or infinite, or nullptr
};

/** Largest C the kernel takes: the row's logits live in shared memory. */
constexpr int kOutputLayerMaxClasses = 8192;

/** Runs the fused output layer; whatever of labels/row_loss/dlogits/dx/loss_sum/correct is non-null gets done. */
void output_layer_forward_backward(const OutputLayerArgs& args, cudaStream_t stream);
