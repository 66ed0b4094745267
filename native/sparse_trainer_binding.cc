#include "sparse_trainer_binding.h"

#include <exception>
#include <memory>
#include <vector>

#include "napi_checks.h"
#include "sparse_tiles.h"
#include "sparse_trainer.h"

namespace fcnet_napi {
namespace {

class SparseTrainerWrap : public Napi::ObjectWrap<SparseTrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SparseTrainer",
                       {InstanceMethod("trainBatch", &SparseTrainerWrap::TrainBatch),
                        InstanceMethod("invalidateShadow", &SparseTrainerWrap::InvalidateShadow),
                        InstanceMethod("downloadGradients", &SparseTrainerWrap::DownloadGradients),
                        InstanceMethod("dispose", &SparseTrainerWrap::Dispose),
                        InstanceMethod("takePhaseSeconds", &SparseTrainerWrap::TakePhaseSeconds),
                        InstanceAccessor("threads", &SparseTrainerWrap::Threads, nullptr),
                        InstanceAccessor("vectorFloats", &SparseTrainerWrap::VectorFloats, nullptr)});
  }

  // new SparseTrainer(sizes: Int32Array, maxBatch, threads)
  explicit SparseTrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SparseTrainerWrap>(info) {
    check_argc(info, 3, "SparseTrainer");
    auto sizes = get_array<int32_t>(info, 0, "sizes", napi_int32_array, "Int32Array", 2, "at least 2 layer widths");
    std::vector<int> widths(sizes.data, sizes.data + sizes.length);
    for (size_t l = 0; l < widths.size(); l++) {
      if (widths[l] < 1 || widths[l] > (1 << 24)) {
        throw Napi::RangeError::New(info.Env(), "Expected integer between 1 and 16777216 for sizes[" + std::to_string(l) +
                                                    "] but received " + std::to_string(widths[l]) + " of type number");
      }
    }
    uint64_t count = 0;
    for (size_t l = 0; l + 1 < widths.size(); l++) count += (uint64_t)widths[l] * widths[l + 1] + widths[l + 1];
    // trainBatch takes the parameters as one Float32Array, which V8 makes of at most 2³² elements: refuse a network
    // that could never train now, before its scratch (gigabytes, for such widths) is allocated and written.
    if (count > (uint64_t(1) << 32)) {
      throw_range(info.Env(), "layer widths of at most 4294967296 parameters in all (these make " + std::to_string(count) + ")",
                  "sizes", info[0]);
    }
    const int max_batch = (int)get_int(info, 1, "maxBatch", 1, 1 << 20);
    const int threads = (int)get_int(info, 2, "threads", 1, 256);
    // The inputs of a batch are laid out by column with int32 counts: a batch may hold at most 2³¹ − 1 of them.
    if ((int64_t)max_batch * widths[0] > kMaxDim) {
      throw_range(info.Env(), "integer of at most " + std::to_string(kMaxDim / widths[0]) + " (maxBatch·sizes[0] ≤ " +
                                  std::to_string(kMaxDim) + ")",
                  "maxBatch", info[1]);
    }
    try {
      trainer_ = std::make_unique<fcnet::SparseTrainer>(widths, max_batch, threads);
    } catch (const std::exception& e) {  // the scratch (or a thread) could not be had: a JS error, not an abort
      std::string list;
      for (size_t l = 0; l < widths.size(); l++) list += (l ? ", " : "") + std::to_string(widths[l]);
      throw Napi::Error::New(info.Env(), "SparseTrainer: cannot allocate the scratch for sizes [" + list + "] and maxBatch " +
                                             std::to_string(max_batch) + " (" + e.what() + "); use a smaller network or batch");
    }
    parameter_count_ = count;
  }

 private:
  fcnet::SparseTrainer& trainer(const Napi::Env& env) {
    if (!trainer_) throw Napi::Error::New(env, "SparseTrainer: used after dispose()");
    return *trainer_;
  }

  // trainBatch(params, grads, m, v, images, labels, indices, offset, B, hyper, step) -> mean loss
  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 11, "trainBatch");
    // First: hyper's getters run JS, which could dispose this trainer or detach a buffer taken below.
    const fcnet::AdamHyper hyper = get_adam_hyper(env, info[9]);
    fcnet::SparseTrainer& t = trainer(env);
    const int I = t.sizes().front(), C = t.sizes().back();
    const uint64_t n = parameter_count_;
    const std::string n_text = "the parameter count, " + std::to_string(n);
    const AdamBuffers b = get_adam_buffers(info, 0, n, n_text.c_str());
    auto images = get_array<uint8_t>(info, 4, "images", napi_uint8_array, "Uint8Array", I, ("I = " + std::to_string(I)).c_str());
    const int64_t N = (int64_t)(images.length / (size_t)I);
    auto labels = get_array<int32_t>(info, 5, "labels", napi_int32_array, "Int32Array", N,
                                     ("one per image, " + std::to_string(N)).c_str());
    const int64_t offset = get_int(info, 7, "offset", 0, kMaxDim);
    const int64_t B = get_int(info, 8, "B", 1, t.max_batch());
    auto indices = get_array<int32_t>(info, 6, "indices", napi_int32_array, "Int32Array", offset + B,
                                      ("offset + B = " + std::to_string(offset + B)).c_str());
    const int64_t step = get_int(info, 10, "step", 1, 9007199254740991);
    // The batch's indices, then its labels, read once into memory this object owns and checked there: the caller's
    // views may be shared with another thread, and the step indexes with both.
    const int32_t* batch = copy_checked_indices(env, batch_indices_, indices.data + offset, (size_t)B, N, "indices", offset);
    batch_labels_.resize((size_t)B);
    for (int64_t r = 0; r < B; r++) {
      const int32_t y = __atomic_load_n(labels.data + batch[r], __ATOMIC_RELAXED);
      if (y < 0 || y >= C) {
        throw Napi::RangeError::New(env, "Expected integer between 0 and " + std::to_string(C - 1) + " for labels[" +
                                             std::to_string(batch[r]) + "] but received " + std::to_string(y) +
                                             " of type number");
      }
      batch_labels_[r] = y;
    }
    const double loss = t.train_batch({b.params.data, b.grads.data, b.m.data, b.v.data}, images.data,
                                      batch_labels_.data(), batch, (int)B, hyper, step);
    return Napi::Number::New(env, loss);
  }

  // downloadGradients(grads)
  Napi::Value DownloadGradients(const Napi::CallbackInfo& info) {
    check_argc(info, 1, "downloadGradients");
    fcnet::SparseTrainer& t = trainer(info.Env());
    auto grads = get_f32(info, 0, "grads", parameter_count_, ("the parameter count, " + std::to_string(parameter_count_)).c_str());
    t.download_gradients(grads.data);
    return info.Env().Undefined();
  }

  Napi::Value InvalidateShadow(const Napi::CallbackInfo& info) {
    trainer(info.Env()).invalidate_shadow();
    return info.Env().Undefined();
  }

  // takePhaseSeconds() -> Float64Array of the seconds per phase since the last call (then reset).
  Napi::Value TakePhaseSeconds(const Napi::CallbackInfo& info) {
    fcnet::SparseTrainer& t = trainer(info.Env());
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), fcnet::SparseTrainer::kPhases);
    for (int i = 0; i < fcnet::SparseTrainer::kPhases; i++) out[i] = t.phase_seconds()[i];
    t.reset_phase_seconds();
    return out;
  }

  // Joins the threads and frees the scratch now rather than at garbage collection.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    trainer_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), trainer(info.Env()).threads()); }
  // Floats per vector in the first layer's tiles (16: AVX-512, 8: AVX2 or older), for the benchmark and tests.
  Napi::Value VectorFloats(const Napi::CallbackInfo& info) {
    trainer(info.Env());  // refused after dispose, as every other member
    return Napi::Number::New(info.Env(), fcnet::tile_vector_floats());
  }

  std::unique_ptr<fcnet::SparseTrainer> trainer_;
  uint64_t parameter_count_ = 0;
  std::vector<int32_t> batch_indices_;  // (B) the last batch's rows, copied out of the caller's indices
  std::vector<int32_t> batch_labels_;   // (B) their labels, copied out of the caller's labels
};

}  // namespace

Napi::Function sparse_trainer_class(Napi::Env env) { return SparseTrainerWrap::Define(env); }

}  // namespace fcnet_napi
