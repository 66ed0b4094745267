// The CUDA trainer behind the addon. Parameters, gradients, Adam's moments and the datasets live on the
// device; a training step is one tiny launch (the batch's rows and Adam's scalars) plus one CUDA graph.
// A plain C++ interface with no CUDA types in it, so that the N-API binding builds with the host compiler.
//
// Dimension letters: B batch, I a layer's inputs, O its outputs, C classes, D values per image, N images,
// P parameters in all. Layer l maps sizes[l] inputs to sizes[l + 1] outputs, ReLU between layers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "adam_math.h"

struct EvaluationTotals {
  double loss_sum;
  int64_t correct;
};

/** Knobs for benchmarks and tests; the defaults are what training uses. */
struct CudaTrainerOptions {
  bool use_graph = true;  // capture each training step as a CUDA graph (false: plain launches)
  int forced_tile = -1;   // -1: choose the products' tile shape per launch; 0, 1, 2: small, medium, large; 3: naive
};

class CudaTrainer {
 public:
  CudaTrainer(const std::vector<int>& sizes, int max_batch, const CudaTrainerOptions& options);
  ~CudaTrainer();
  CudaTrainer(const CudaTrainer&) = delete;
  CudaTrainer& operator=(const CudaTrainer&) = delete;

  size_t parameter_count() const;
  /** Host → device: parameters, gradients and Adam's moments, each (P). */
  void upload(const float* params, const float* grads, const float* m, const float* v);
  /** Device → host, each (P). */
  void download(float* params, float* grads, float* m, float* v);
  /** logits(B, C) for x(B, D). */
  void forward(float* logits, const float* x, int B);
  /** Gradients of the mean loss of x(B, D) against labels(B) into the device gradients and grads(P); the mean loss. */
  double compute_gradients(float* grads, const float* x, const int* labels, int B);
  /** One Adam step (1-based) of all parameters from the device gradients. */
  void adam_step(const AdamHyper& hyper, double step);
  /** Copies images(N, D) and labels(N) to the device; returns the dataset's id. */
  int attach_dataset(const uint8_t* images, const int* labels, int n, int d);
  void detach_dataset(int id);
  /**
   * A whole step on the batch indices[offset .. offset + B) of the dataset: gather, forward, loss, backward,
   * Adam. `indices` is the epoch's order; it goes to the device only when it differs from what is there.
   * Returns the batch's mean loss when want_loss (one sync), else NaN (no sync).
   */
  double train_batch(int dataset, const int* indices, size_t indices_length, int offset, int B,
                     const AdamHyper& hyper, double step, bool want_loss);
  /** Summed loss and number correct over the dataset, in batches of max_batch. */
  EvaluationTotals evaluate_dataset(int dataset);
  /** Frees device memory; later calls throw. Safe to call twice. */
  void dispose();
  bool disposed() const;
  /** e.g. "NVIDIA H200 (sm_90, 132 SMs)". */
  std::string device_description() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/** Whether a CUDA device answers, and if not why. */
struct CudaProbe {
  bool available = false;
  std::string status;   // ok, no-driver, driver-too-old, no-device, unsupported-device, error
  std::string message;  // the reason in words, with what to do
  std::string device;   // e.g. "NVIDIA H200"
  int major = 0;
  int minor = 0;
  size_t memory_bytes = 0;
  int multiprocessors = 0;
  int driver_version = 0;   // CUDA version the driver supports, e.g. 13000 (0: no driver)
  int runtime_version = 0;  // CUDA version the addon was built with
  bool emulated = false;    // the CPU emulation build
};

/** Asks the CUDA runtime for device 0 and runs one tiny kernel on it. Never throws. */
CudaProbe cuda_probe();

/** The message shape every bad argument gets, after sharp: Expected <what> for <name> but received <value>. */
std::string expected_integer_message(long long min, long long max, const std::string& name, long long value);
