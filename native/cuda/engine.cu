// CudaTrainer: the device buffers, and the order of the launches of a step.
#include "engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

#include "adam.cuh"
#include "batch.cuh"
#include "cuda_check.h"
#include "linear.cuh"
#include "output_layer.cuh"

namespace {

template <typename T>
T* device_alloc(size_t count) {
  void* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, sizeof(T) * std::max<size_t>(count, 1)));
  return static_cast<T*>(p);
}

template <typename T>
T* pinned_alloc(size_t count) {
  void* p = nullptr;
  CUDA_CHECK(cudaMallocHost(&p, sizeof(T) * std::max<size_t>(count, 1)));
  return static_cast<T*>(p);
}

struct DeviceDataset {
  unsigned char* images = nullptr;  // (N, D)
  int* labels = nullptr;            // (N)
  int n = 0;
  int d = 0;
  bool live = false;
};

struct DeviceTotals {
  double loss_sum;
  int correct;
};

}  // namespace

std::string expected_integer_message(long long min, long long max, const std::string& name, long long value) {
  return "Expected integer between " + std::to_string(min) + " and " + std::to_string(max) + " for " + name +
         " but received " + std::to_string(value) + " of type number";
}

struct CudaTrainer::Impl {
  std::vector<int> sizes;  // (L + 1) widths, input first
  int layers = 0;          // L
  int max_batch = 0;
  CudaTrainerOptions options;
  std::vector<size_t> w_offset, b_offset;  // (L) where each layer's weight (O, I) and bias (O) start in the flat buffers
  size_t param_count = 0;
  GemmTuning tuning{132, -1};
  std::string device;
  bool live = false;

  cudaStream_t stream = nullptr;
  float* params = nullptr;  // (P)
  float* grads = nullptr;   // (P)
  float* m = nullptr;       // (P)
  float* v = nullptr;       // (P)
  float* x = nullptr;       // (max_batch, D) input handed over by the host
  std::vector<float*> act;  // act[l]: (max_batch, O_l) layer l's output: after the ReLU, logits for the last layer
  std::vector<float*> dact; // dact[l]: (max_batch, O_l) the loss's gradient at layer l's output, through its ReLU
  int* batch_rows = nullptr;          // (max_batch) dataset rows of the batch
  int* batch_labels = nullptr;        // (max_batch)
  float* row_loss = nullptr;          // (max_batch)
  StepState* step = nullptr;          // (1) this step's Adam scalars and NaN flag, read by the step's graph
  DeviceTotals* totals = nullptr;     // (1) evaluation sums
  float* host_row_loss = nullptr;     // (max_batch) pinned
  DeviceTotals* host_totals = nullptr;  // (1) pinned

  int* indices = nullptr;       // (indices_capacity) the epoch's order on the device
  int* host_indices = nullptr;  // (indices_capacity) pinned: what `indices` holds, compared each step
  std::vector<int> host_labels;  // (max_batch) computeGradients' labels, copied out of the caller's memory
  size_t indices_capacity = 0;
  size_t indices_length = 0;    // 0: nothing uploaded yet
  int indices_largest = -1;

  std::vector<DeviceDataset> datasets;
  std::map<std::pair<int, int>, cudaGraphExec_t> graphs;  // (dataset, B) → the step's graph

  int I(int l) const { return sizes[l]; }
  int O(int l) const { return sizes[l + 1]; }
  float* weight(int l) const { return params + w_offset[l]; }
  float* bias(int l) const { return params + b_offset[l]; }
  MatrixView layer_input(int l, const MatrixView& input) const {
    return l == 0 ? input : view_rows(act[l - 1], I(l));
  }

  void allocate() {
    CUDA_CHECK(cudaSetDevice(0));
    CUDA_CHECK(cudaDeviceGetAttribute(&tuning.multiprocessors, cudaDevAttrMultiProcessorCount, 0));
    tuning.forced_tile = options.forced_tile;
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    device = std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
             std::to_string(tuning.multiprocessors) + " SMs)";
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    params = device_alloc<float>(param_count);
    grads = device_alloc<float>(param_count);
    m = device_alloc<float>(param_count);
    v = device_alloc<float>(param_count);
    CUDA_CHECK(cudaMemsetAsync(params, 0, sizeof(float) * param_count, stream));
    CUDA_CHECK(cudaMemsetAsync(grads, 0, sizeof(float) * param_count, stream));
    CUDA_CHECK(cudaMemsetAsync(m, 0, sizeof(float) * param_count, stream));
    CUDA_CHECK(cudaMemsetAsync(v, 0, sizeof(float) * param_count, stream));
    x = device_alloc<float>(static_cast<size_t>(max_batch) * sizes[0]);
    act.assign(layers, nullptr);
    dact.assign(layers, nullptr);
    for (int l = 0; l < layers; ++l) {
      act[l] = device_alloc<float>(static_cast<size_t>(max_batch) * O(l));
      dact[l] = device_alloc<float>(static_cast<size_t>(max_batch) * O(l));
    }
    batch_rows = device_alloc<int>(max_batch);
    batch_labels = device_alloc<int>(max_batch);
    row_loss = device_alloc<float>(max_batch);
    step = device_alloc<StepState>(1);
    totals = device_alloc<DeviceTotals>(1);
    host_row_loss = pinned_alloc<float>(max_batch);
    host_totals = pinned_alloc<DeviceTotals>(1);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    live = true;
  }

  /** Frees everything; errors are ignored (it also runs from the destructor and after a failed start). */
  void release() noexcept {
    if (stream != nullptr) cudaStreamSynchronize(stream);
    for (auto& entry : graphs) cudaGraphExecDestroy(entry.second);
    graphs.clear();
    for (DeviceDataset& ds : datasets) {
      cudaFree(ds.images);
      cudaFree(ds.labels);
      ds = DeviceDataset{};
    }
    for (float* p : act) cudaFree(p);
    for (float* p : dact) cudaFree(p);
    act.clear();
    dact.clear();
    for (void* p : {static_cast<void*>(params), static_cast<void*>(grads), static_cast<void*>(m),
                    static_cast<void*>(v), static_cast<void*>(x), static_cast<void*>(batch_rows),
                    static_cast<void*>(batch_labels), static_cast<void*>(row_loss), static_cast<void*>(step),
                    static_cast<void*>(totals), static_cast<void*>(indices)}) {
      if (p != nullptr) cudaFree(p);
    }
    params = grads = m = v = x = row_loss = nullptr;
    batch_rows = batch_labels = indices = nullptr;
    step = nullptr;
    totals = nullptr;
    if (host_row_loss != nullptr) cudaFreeHost(host_row_loss);
    if (host_totals != nullptr) cudaFreeHost(host_totals);
    if (host_indices != nullptr) cudaFreeHost(host_indices);
    host_row_loss = nullptr;
    host_totals = nullptr;
    host_indices = nullptr;
    indices_capacity = indices_length = 0;
    if (stream != nullptr) cudaStreamDestroy(stream);
    stream = nullptr;
    live = false;
  }

  void require_live() const {
    if (!live) throw std::runtime_error("This CudaEngine has been disposed");
  }

  void require_batch(int B) const {
    if (B < 1 || B > max_batch) throw std::out_of_range(expected_integer_message(1, max_batch, "B", B));
  }

  const DeviceDataset& dataset(int id) const {
    if (id < 0 || id >= static_cast<int>(datasets.size()) || !datasets[id].live) {
      throw std::invalid_argument("Expected a dataset attached to this engine for data but received a detached one");
    }
    return datasets[id];
  }

  /**
   * Copies labels(n) out of the caller's memory into `owned`, then checks the copy: what the device indexes with is
   * what was checked, even when another thread changes the caller's memory (a SharedArrayBuffer) meanwhile. The
   * loads are atomic (relaxed) so the compiler cannot read the caller's memory again instead of the copy.
   */
  void copy_checked_labels(std::vector<int>& owned, const int* labels, size_t n, const char* name) const {
    const int classes = sizes[layers];
    owned.resize(n);
    for (size_t i = 0; i < n; ++i) owned[i] = __atomic_load_n(labels + i, __ATOMIC_RELAXED);
    for (size_t i = 0; i < n; ++i) {
      if (owned[i] < 0 || owned[i] >= classes) {
        throw std::out_of_range(
            expected_integer_message(0, classes - 1, std::string(name) + "[" + std::to_string(i) + "]", owned[i]));
      }
    }
  }

  // ---- the pieces of a step, all launched on `stream` ----

  /** act[l] for the hidden layers 0 .. L-2, from `input` (B, D). */
  void hidden_forward(const MatrixView& input, int B) {
    for (int l = 0; l + 1 < layers; ++l) {
      linear_forward(act[l], layer_input(l, input), weight(l), bias(l), B, I(l), O(l), /*relu=*/true, tuning, stream);
    }
  }

  /**
   * The last layer and the loss: logits, and as asked the loss and its gradients (flagging a NaN loss in
   * `loss_not_finite` when given) or the evaluation sums.
   */
  void output_layer(const MatrixView& input, int B, const int* labels, bool backward, bool evaluate,
                    int* loss_not_finite = nullptr) {
    const int last = layers - 1;
    OutputLayerArgs a{};
    a.x = layer_input(last, input);
    a.w = weight(last);
    a.b = bias(last);
    a.B = B;
    a.I = I(last);
    a.C = O(last);
    a.logits = act[last];
    a.labels = labels;
    if (backward) {
      a.row_loss = row_loss;
      a.dlogits = dact[last];
      a.dx = last >= 1 ? dact[last - 1] : nullptr;
      a.loss_not_finite = loss_not_finite;
    }
    if (evaluate) {
      a.loss_sum = &totals->loss_sum;
      a.correct = &totals->correct;
    }
    output_layer_forward_backward(a, stream);
  }

  /** dact[l - 1] from dact[l] for l = L-2 .. 1 (the output layer already gave dact[L-2]). */
  void hidden_backward(int B) {
    for (int l = layers - 2; l >= 1; --l) {
      linear_backward_input(dact[l - 1], dact[l], weight(l), act[l - 1], B, I(l), O(l), tuning, stream);
    }
  }

  /** Every layer's weight and bias gradients in one launch, with Adam fused in when `state` is given. */
  void weight_gradients(const MatrixView& input, int B, const StepState* state) {
    std::vector<WeightGradient> all(layers);
    for (int l = 0; l < layers; ++l) {
      WeightGradient& g = all[l];
      g.dw = grads + w_offset[l];
      g.db = grads + b_offset[l];
      g.dout = dact[l];
      g.x = layer_input(l, input);
      g.I = I(l);
      g.O = O(l);
      g.w = params + w_offset[l];
      g.w_m = m + w_offset[l];
      g.w_v = v + w_offset[l];
      g.b = params + b_offset[l];
      g.b_m = m + b_offset[l];
      g.b_v = v + b_offset[l];
    }
    linear_backward_weights(all.data(), layers, B, state != nullptr ? &state->adam : nullptr,
                            state != nullptr ? &state->loss_not_finite : nullptr, tuning, stream);
  }

  /**
   * The launches of one training step on the batch already in batch_rows / batch_labels / step. A batch whose
   * loss is not finite leaves parameters and moments as they were, as the host engines do.
   */
  void launch_train_step(const DeviceDataset& ds, int B) {
    const MatrixView input = view_gathered(ds.images, batch_rows, ds.d);
    hidden_forward(input, B);
    output_layer(input, B, batch_labels, /*backward=*/true, /*evaluate=*/false, &step->loss_not_finite);
    hidden_backward(B);
    weight_gradients(input, B, step);
  }

  cudaGraphExec_t train_step_graph(int id, int B) {
    const auto key = std::make_pair(id, B);
    const auto found = graphs.find(key);
    if (found != graphs.end()) return found->second;
    CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
      launch_train_step(datasets[id], B);
    } catch (...) {
      cudaGraph_t broken = nullptr;
      cudaStreamEndCapture(stream, &broken);
      if (broken != nullptr) cudaGraphDestroy(broken);
      throw;
    }
    cudaGraph_t graph = nullptr;
    CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec = nullptr;
    const cudaError_t instantiated = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    CUDA_CHECK(instantiated);
    graphs.emplace(key, exec);
    return exec;
  }

  /**
   * Makes the device's copy of the epoch's order hold indices[offset .. offset + B). The whole array goes up
   * only when that range differs from what was sent last (once an epoch, after the shuffle).
   */
  void sync_indices(const int* host, size_t length, int offset, int B, int n) {
    const bool same = indices_length == length &&
                      std::memcmp(host_indices + offset, host + offset, sizeof(int) * static_cast<size_t>(B)) == 0;
    if (!same) {
      // The pinned copy may still feed an earlier upload: wait for the stream before overwriting it.
      CUDA_CHECK(cudaStreamSynchronize(stream));
      indices_length = 0;  // until the new order is checked: a refused one leaves the pinned copy unlike the device's
      if (length > indices_capacity) {
        cudaFree(indices);
        cudaFreeHost(host_indices);
        indices = nullptr;
        host_indices = nullptr;
        indices_capacity = 0;
        indices = device_alloc<int>(length);
        host_indices = pinned_alloc<int>(length);
        indices_capacity = length;
      }
      // Copied out of the caller's memory first, then checked: the device indexes with the copy, which no other
      // thread can change (the caller's may be a SharedArrayBuffer). Atomic loads: never read again instead.
      for (size_t i = 0; i < length; ++i) host_indices[i] = __atomic_load_n(host + i, __ATOMIC_RELAXED);
      int largest = -1;
      for (size_t i = 0; i < length; ++i) {
        if (host_indices[i] < 0 || host_indices[i] >= n) {
          throw std::out_of_range(
              expected_integer_message(0, n - 1, "indices[" + std::to_string(i) + "]", host_indices[i]));
        }
        largest = std::max(largest, host_indices[i]);
      }
      CUDA_CHECK(cudaMemcpyAsync(indices, host_indices, sizeof(int) * length, cudaMemcpyHostToDevice, stream));
      indices_length = length;
      indices_largest = largest;
    } else if (indices_largest >= n) {  // the same order, on a smaller dataset: what the device holds is checked
      for (size_t i = 0; i < length; ++i) {
        if (host_indices[i] >= n) {
          throw std::out_of_range(
              expected_integer_message(0, n - 1, "indices[" + std::to_string(i) + "]", host_indices[i]));
        }
      }
    }
  }

  double mean_row_loss(int B) {
    CUDA_CHECK(cudaMemcpyAsync(host_row_loss, row_loss, sizeof(float) * B, cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
    double sum = 0.0;
    for (int b = 0; b < B; ++b) sum += host_row_loss[b];
    return sum / B;
  }
};

CudaTrainer::CudaTrainer(const std::vector<int>& sizes, int max_batch, const CudaTrainerOptions& options)
    : impl_(new Impl()) {
  if (sizes.size() < 2) throw std::invalid_argument("Expected at least 2 layer widths for sizes");
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 1) throw std::out_of_range(expected_integer_message(1, 1 << 24, "sizes[" + std::to_string(i) + "]", sizes[i]));
  }
  if (sizes.back() > kOutputLayerMaxClasses) {
    throw std::out_of_range(expected_integer_message(1, kOutputLayerMaxClasses,
                                                     "sizes[" + std::to_string(sizes.size() - 1) + "] on the cuda backend",
                                                     sizes.back()));
  }
  if (max_batch < 1) throw std::out_of_range(expected_integer_message(1, 1 << 24, "maxBatch", max_batch));
  Impl& s = *impl_;
  s.sizes = sizes;
  s.layers = static_cast<int>(sizes.size()) - 1;
  s.max_batch = max_batch;
  s.options = options;
  size_t offset = 0;
  for (int l = 0; l < s.layers; ++l) {
    s.w_offset.push_back(offset);
    offset += static_cast<size_t>(s.O(l)) * s.I(l);
    s.b_offset.push_back(offset);
    offset += static_cast<size_t>(s.O(l));
  }
  s.param_count = offset;
  try {
    s.allocate();
  } catch (...) {
    s.release();
    throw;
  }
}

CudaTrainer::~CudaTrainer() { impl_->release(); }

size_t CudaTrainer::parameter_count() const { return impl_->param_count; }

bool CudaTrainer::disposed() const { return !impl_->live; }

std::string CudaTrainer::device_description() const { return impl_->device; }

void CudaTrainer::dispose() { impl_->release(); }

void CudaTrainer::upload(const float* params, const float* grads, const float* m, const float* v) {
  Impl& s = *impl_;
  s.require_live();
  const size_t bytes = sizeof(float) * s.param_count;
  CUDA_CHECK(cudaMemcpyAsync(s.params, params, bytes, cudaMemcpyHostToDevice, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(s.grads, grads, bytes, cudaMemcpyHostToDevice, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(s.m, m, bytes, cudaMemcpyHostToDevice, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(s.v, v, bytes, cudaMemcpyHostToDevice, s.stream));
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

void CudaTrainer::download(float* params, float* grads, float* m, float* v) {
  Impl& s = *impl_;
  s.require_live();
  const size_t bytes = sizeof(float) * s.param_count;
  CUDA_CHECK(cudaMemcpyAsync(params, s.params, bytes, cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(grads, s.grads, bytes, cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(m, s.m, bytes, cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaMemcpyAsync(v, s.v, bytes, cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

void CudaTrainer::forward(float* logits, const float* x, int B) {
  Impl& s = *impl_;
  s.require_live();
  s.require_batch(B);
  CUDA_CHECK(cudaMemcpyAsync(s.x, x, sizeof(float) * B * static_cast<size_t>(s.sizes[0]), cudaMemcpyHostToDevice,
                             s.stream));
  const MatrixView input = view_rows(s.x, s.sizes[0]);
  s.hidden_forward(input, B);
  s.output_layer(input, B, nullptr, /*backward=*/false, /*evaluate=*/false);
  CUDA_CHECK(cudaMemcpyAsync(logits, s.act[s.layers - 1], sizeof(float) * B * static_cast<size_t>(s.sizes[s.layers]),
                             cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
}

double CudaTrainer::compute_gradients(float* grads, const float* x, const int* labels, int B) {
  Impl& s = *impl_;
  s.require_live();
  s.require_batch(B);
  // host_labels is free: the previous call's mean_row_loss waited for the stream that uploaded it.
  s.copy_checked_labels(s.host_labels, labels, static_cast<size_t>(B), "labels");
  CUDA_CHECK(cudaMemcpyAsync(s.x, x, sizeof(float) * B * static_cast<size_t>(s.sizes[0]), cudaMemcpyHostToDevice,
                             s.stream));
  CUDA_CHECK(cudaMemcpyAsync(s.batch_labels, s.host_labels.data(), sizeof(int) * B, cudaMemcpyHostToDevice, s.stream));
  const MatrixView input = view_rows(s.x, s.sizes[0]);
  s.hidden_forward(input, B);
  s.output_layer(input, B, s.batch_labels, /*backward=*/true, /*evaluate=*/false);
  s.hidden_backward(B);
  s.weight_gradients(input, B, nullptr);
  CUDA_CHECK(cudaMemcpyAsync(grads, s.grads, sizeof(float) * s.param_count, cudaMemcpyDeviceToHost, s.stream));
  return s.mean_row_loss(B);
}

void CudaTrainer::adam_step(const AdamHyper& hyper, double step) {
  Impl& s = *impl_;
  s.require_live();
  adam_update(s.params, s.m, s.v, s.grads, s.param_count, adam_scalars(hyper, step), s.tuning.multiprocessors,
              s.stream);
}

int CudaTrainer::attach_dataset(const uint8_t* images, const int* labels, int n, int d) {
  Impl& s = *impl_;
  s.require_live();
  if (d != s.sizes[0]) {
    throw std::out_of_range(expected_integer_message(s.sizes[0], s.sizes[0], "d", d));
  }
  if (n < 1) throw std::out_of_range(expected_integer_message(1, std::numeric_limits<int>::max(), "n", n));
  std::vector<int> owned;  // what the device gets is what was checked (see copy_checked_labels)
  s.copy_checked_labels(owned, labels, static_cast<size_t>(n), "labels");
  DeviceDataset ds;
  ds.n = n;
  ds.d = d;
  try {
    ds.images = device_alloc<unsigned char>(static_cast<size_t>(n) * d);
    ds.labels = device_alloc<int>(n);
    CUDA_CHECK(cudaMemcpyAsync(ds.images, images, static_cast<size_t>(n) * d, cudaMemcpyHostToDevice, s.stream));
    CUDA_CHECK(cudaMemcpyAsync(ds.labels, owned.data(), sizeof(int) * n, cudaMemcpyHostToDevice, s.stream));
    CUDA_CHECK(cudaStreamSynchronize(s.stream));
  } catch (...) {
    cudaFree(ds.images);
    cudaFree(ds.labels);
    throw;
  }
  ds.live = true;
  s.datasets.push_back(ds);
  return static_cast<int>(s.datasets.size()) - 1;
}

void CudaTrainer::detach_dataset(int id) {
  Impl& s = *impl_;
  s.require_live();
  s.dataset(id);
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
  for (auto it = s.graphs.begin(); it != s.graphs.end();) {
    if (it->first.first == id) {
      cudaGraphExecDestroy(it->second);
      it = s.graphs.erase(it);
    } else {
      ++it;
    }
  }
  DeviceDataset& ds = s.datasets[id];
  cudaFree(ds.images);
  cudaFree(ds.labels);
  ds = DeviceDataset{};
}

double CudaTrainer::train_batch(int id, const int* indices, size_t indices_length, int offset, int B,
                                const AdamHyper& hyper, double step, bool want_loss) {
  Impl& s = *impl_;
  s.require_live();
  s.require_batch(B);
  const DeviceDataset& ds = s.dataset(id);
  if (offset < 0 || static_cast<size_t>(offset) + B > indices_length) {
    const long long last = static_cast<long long>(indices_length) - B;
    throw std::out_of_range(expected_integer_message(0, std::max(0LL, last), "offset", offset));
  }
  s.sync_indices(indices, indices_length, offset, B, ds.n);
  batch_prepare(s.batch_rows, s.batch_labels, s.step, s.indices, offset, B, ds.labels,
                adam_scalars(hyper, step), s.stream);
  if (s.options.use_graph) {
    CUDA_CHECK(cudaGraphLaunch(s.train_step_graph(id, B), s.stream));
  } else {
    s.launch_train_step(ds, B);
  }
  return want_loss ? s.mean_row_loss(B) : std::numeric_limits<double>::quiet_NaN();
}

EvaluationTotals CudaTrainer::evaluate_dataset(int id) {
  Impl& s = *impl_;
  s.require_live();
  const DeviceDataset& ds = s.dataset(id);
  CUDA_CHECK(cudaMemsetAsync(s.totals, 0, sizeof(DeviceTotals), s.stream));
  const MatrixView input = view_gathered(ds.images, s.batch_rows, ds.d);
  for (int offset = 0; offset < ds.n; offset += s.max_batch) {
    const int B = std::min(s.max_batch, ds.n - offset);
    batch_prepare(s.batch_rows, s.batch_labels, nullptr, nullptr, offset, B, ds.labels, AdamScalars{}, s.stream);
    s.hidden_forward(input, B);
    s.output_layer(input, B, s.batch_labels, /*backward=*/false, /*evaluate=*/true);
  }
  CUDA_CHECK(cudaMemcpyAsync(s.host_totals, s.totals, sizeof(DeviceTotals), cudaMemcpyDeviceToHost, s.stream));
  CUDA_CHECK(cudaStreamSynchronize(s.stream));
  return EvaluationTotals{s.host_totals->loss_sum, s.host_totals->correct};
}
