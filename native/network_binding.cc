// The JS class Network: the engine of network.h behind argument checks. Whatever the engine indexes with (batch
// indices, class labels) is copied into memory it owns while being checked, so that another thread changing a
// SharedArrayBuffer meanwhile cannot make it read out of bounds.
#include "network_binding.h"

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "napi_checks.h"
#include "network.h"
#include "sparse_tiles.h"

namespace fcnet_napi {
namespace {

const char* const kActivations[] = {"relu", "leaky_relu", "tanh", "sigmoid", "gelu"};
const char* const kLosses[] = {"cross_entropy", "bce_with_logits", "mse", "l1"};

int get_name(const Napi::Env& env, const Napi::Value& v, const char* name, const char* const* names, int n) {
  std::string list;
  for (int i = 0; i < n; i++) list += std::string(i ? ", " : "") + "'" + names[i] + "'";
  if (!v.IsString()) throw_type(env, "one of " + list, name, v);
  const std::string s = v.As<Napi::String>().Utf8Value();
  for (int i = 0; i < n; i++)
    if (s == names[i]) return i;
  throw_range(env, "one of " + list, name, v);
}

// A Float32Array of exactly n finite values (min_exclusive: each above 0), copied; null gives an empty vector.
std::vector<float> get_vector(const Napi::Env& env, const Napi::Value& v, const char* name, size_t n, bool positive) {
  if (v.IsNull() || v.IsUndefined()) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(env, "Float32Array or null", name, v);
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (a.ElementLength() != n)
    throw_range(env, "Float32Array of " + std::to_string(n) + " elements", name, v);
  std::vector<float> out(a.Data(), a.Data() + n);
  for (size_t i = 0; i < n; i++) {
    if (!std::isfinite(out[i]) || (positive && !(out[i] > 0.0f))) {
      throw Napi::RangeError::New(env, "Expected " + std::string(positive ? "finite number above 0" : "finite number") +
                                           " for " + name + "[" + std::to_string(i) + "] but received " +
                                           std::to_string(out[i]) + " of type number");
    }
  }
  return out;
}

std::string list_sizes(const std::vector<int>& sizes) {
  std::string list;
  for (size_t l = 0; l < sizes.size(); l++) list += (l ? ", " : "") + std::to_string(sizes[l]);
  return "[" + list + "]";
}

[[noreturn]] void throw_index(const Napi::Env& env, const char* name, int64_t at, int64_t value, int64_t n) {
  throw Napi::RangeError::New(env, "Expected integer between 0 and " + std::to_string(n - 1) + " for " + name + "[" +
                                       std::to_string(at) + "] but received " + std::to_string(value) +
                                       " of type number");
}

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Network",
                       {InstanceMethod("trainBatch", &NetworkWrap::TrainBatch),
                        InstanceMethod("computeGradients", &NetworkWrap::ComputeGradients),
                        InstanceMethod("adamStep", &NetworkWrap::AdamStep),
                        InstanceMethod("forward", &NetworkWrap::Forward),
                        InstanceMethod("evaluate", &NetworkWrap::Evaluate),
                        InstanceMethod("download", &NetworkWrap::Download),
                        InstanceMethod("invalidateShadow", &NetworkWrap::InvalidateShadow),
                        InstanceMethod("takePhaseSeconds", &NetworkWrap::TakePhaseSeconds),
                        InstanceMethod("dispose", &NetworkWrap::Dispose),
                        InstanceAccessor("threads", &NetworkWrap::Threads, nullptr),
                        InstanceAccessor("started", &NetworkWrap::Started, nullptr),
                        InstanceAccessor("vectorFloats", &NetworkWrap::VectorFloats, nullptr)});
  }

  // new Network({sizes, activation, negativeSlope, dropout, loss, classWeights, inputMean, inputStd}, maxBatch,
  //             threads, reference?)
  explicit NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info) {
    const Napi::Env env = info.Env();
    check_argc(info, 3, "Network");
    if (!info[0].IsObject()) throw_type(env, "object (a NetworkSpec)", "spec", info[0]);
    const Napi::Object o = info[0].As<Napi::Object>();
    // Every getter first (they run JS), then the copies.
    const Napi::Value sizes_v = o.Get("sizes"), activation_v = o.Get("activation"), slope_v = o.Get("negativeSlope"),
                      dropout_v = o.Get("dropout"), loss_v = o.Get("loss"), weights_v = o.Get("classWeights"),
                      mean_v = o.Get("inputMean"), std_v = o.Get("inputStd");
    fcnet::NetworkSpec spec;
    if (!sizes_v.IsTypedArray() || sizes_v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_type(env, "Int32Array", "spec.sizes", sizes_v);
    Napi::Int32Array sizes = sizes_v.As<Napi::Int32Array>();
    if (sizes.ElementLength() < 2) throw_range(env, "Int32Array of at least 2 layer widths", "spec.sizes", sizes_v);
    spec.sizes.assign(sizes.Data(), sizes.Data() + sizes.ElementLength());
    for (size_t l = 0; l < spec.sizes.size(); l++) {
      if (spec.sizes[l] < 1 || spec.sizes[l] > (1 << 24)) {
        throw Napi::RangeError::New(env, "Expected integer between 1 and 16777216 for spec.sizes[" + std::to_string(l) +
                                             "] but received " + std::to_string(spec.sizes[l]) + " of type number");
      }
    }
    spec.activation = (fcnet::Activation)get_name(env, activation_v, "spec.activation", kActivations, 5);
    spec.negative_slope = (float)get_number(env, slope_v, "spec.negativeSlope");
    spec.dropout = get_number(env, dropout_v, "spec.dropout");
    if (!(spec.dropout >= 0.0 && spec.dropout < 1.0)) throw_range(env, "number from 0 to below 1", "spec.dropout", dropout_v);
    spec.loss = (fcnet::Loss)get_name(env, loss_v, "spec.loss", kLosses, 4);
    const int I = spec.sizes.front(), C = spec.sizes.back();
    spec.class_weights = get_vector(env, weights_v, "spec.classWeights", C, false);
    if (!spec.class_weights.empty() && spec.loss != fcnet::Loss::kCrossEntropy)
      throw_type(env, "null (class weights go with cross_entropy only)", "spec.classWeights", weights_v);
    for (size_t c = 0; c < spec.class_weights.size(); c++)
      if (spec.class_weights[c] < 0.0f)
        throw Napi::RangeError::New(env, "Expected finite number of at least 0 for spec.classWeights[" +
                                             std::to_string(c) + "] but received " +
                                             std::to_string(spec.class_weights[c]) + " of type number");
    spec.input_mean = get_vector(env, mean_v, "spec.inputMean", I, false);
    spec.input_std = get_vector(env, std_v, "spec.inputStd", I, true);
    if (spec.input_mean.empty() != spec.input_std.empty())
      throw_type(env, "both inputMean and inputStd, or neither", "spec.inputStd", std_v);
    uint64_t count = 0;
    for (size_t l = 0; l + 1 < spec.sizes.size(); l++) count += (uint64_t)spec.sizes[l] * spec.sizes[l + 1] + spec.sizes[l + 1];
    // The parameters come as one Float32Array, which V8 makes of at most 2³² elements.
    if (count > (uint64_t(1) << 32)) {
      throw_range(env, "layer widths of at most 4294967296 parameters in all (these make " + std::to_string(count) + ")",
                  "spec.sizes", sizes_v);
    }
    const int max_batch = (int)get_int(info, 1, "maxBatch", 1, 1 << 20);
    const int threads = (int)get_int(info, 2, "threads", 1, 256);
    const bool reference = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
    // The sparse path lays a batch's inputs out by column with int32 counts.
    if ((int64_t)max_batch * I > kMaxDim) {
      throw_range(env, "integer of at most " + std::to_string(kMaxDim / I) + " (maxBatch·sizes[0] ≤ " +
                           std::to_string(kMaxDim) + ")",
                  "maxBatch", info[1]);
    }
    try {
      net_ = std::make_unique<fcnet::Network>(spec, max_batch, threads, reference);
    } catch (const std::length_error& e) {
      throw Napi::RangeError::New(env, "Network: sizes " + list_sizes(spec.sizes) + " with maxBatch " +
                                           std::to_string(max_batch) + " " + e.what() +
                                           "; use a smaller network or batch");
    }
    parameter_count_ = count;
  }

 private:
  fcnet::Network& net(const Napi::Env& env) {
    if (!net_) throw Napi::Error::New(env, "Network: used after dispose()");
    return *net_;
  }

  // Runs f, turning an allocation failure (the scratch on first use, or a thread) into a JS error.
  template <typename F>
  auto guarded(const Napi::Env& env, F&& f) -> decltype(f()) {
    try {
      return f();
    } catch (const std::bad_alloc&) {
      throw Napi::Error::New(env, "Network: cannot allocate the scratch for sizes " + list_sizes(net_->spec().sizes) +
                                      " and maxBatch " + std::to_string(net_->max_batch()) +
                                      "; use a smaller network or batch");
    } catch (const std::system_error& e) {
      throw Napi::Error::New(env, std::string("Network: cannot start its threads (") + e.what() + ")");
    } catch (const std::logic_error& e) {  // a broken invariant: an error to report, never a process abort
      throw Napi::Error::New(env, e.what());
    }
  }

  std::string count_text() const { return "the parameter count, " + std::to_string(parameter_count_); }

  // The features of a dataset: a Uint8Array (pixels) or Float32Array of whole rows of I values.
  struct Features {
    const uint8_t* pixels = nullptr;
    const float* values = nullptr;
    int64_t rows = 0;
  };
  Features get_features(const Napi::CallbackInfo& info, size_t i, const char* name) {
    const int I = net_->spec().sizes.front();
    const Napi::Value v = info[i];
    const std::string text = "I = " + std::to_string(I);
    Features f;
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
      auto a = get_array<uint8_t>(info, i, name, napi_uint8_array, "Uint8Array", I, text.c_str());
      f.pixels = a.data;
      f.rows = (int64_t)(a.length / I);
    } else if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      auto a = get_f32(info, i, name, I, text.c_str());
      f.values = a.data;
      f.rows = (int64_t)(a.length / I);
    } else {
      throw_type(info.Env(), "Uint8Array or Float32Array", name, v);
    }
    return f;
  }

  // The targets of rows: Int32Array labels for cross-entropy, else Float32Array (rows, K). Returns the rows held.
  int64_t get_targets(const Napi::CallbackInfo& info, size_t i, const char* name, const int32_t** labels,
                      const float** values) {
    const int K = net_->spec().sizes.back();
    const std::string k_text = "K = " + std::to_string(K);
    if (fcnet::loss_takes_labels(net_->spec().loss)) {
      auto a = get_array<int32_t>(info, i, name, napi_int32_array, "Int32Array", 0, "");
      *labels = a.data;
      *values = nullptr;
      return (int64_t)a.length;
    }
    auto a = get_f32(info, i, name, 0, k_text.c_str());
    *labels = nullptr;
    *values = a.data;
    return (int64_t)(a.length / K);
  }

  static fcnet::DropoutSource get_dropout(const Napi::Env& env, const Napi::Value& v, int64_t B,
                                          const fcnet::NetworkSpec& spec, std::vector<uint8_t>* copy) {
    fcnet::DropoutSource d;
    if (v.IsNull() || v.IsUndefined()) return d;
    if (!v.IsObject()) throw_type(env, "null, {seed, step} or {masks}", "dropout", v);
    const Napi::Object o = v.As<Napi::Object>();
    const Napi::Value masks = o.Get("masks"), seed = o.Get("seed"), step = o.Get("step");
    if (!masks.IsUndefined()) {
      uint64_t need = 0;
      for (size_t l = 1; l + 1 < spec.sizes.size(); l++) need += (uint64_t)B * spec.sizes[l];
      if (!masks.IsTypedArray() || masks.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw_type(env, "Uint8Array", "dropout.masks", masks);
      Napi::Uint8Array a = masks.As<Napi::Uint8Array>();
      if (a.ElementLength() < need)
        throw_range(env, "Uint8Array of at least " + std::to_string(need) + " elements (B times the hidden widths)",
                    "dropout.masks", masks);
      copy->assign(a.Data(), a.Data() + need);
      d.masks = copy->data();
      return d;
    }
    const double s = get_number(env, seed, "dropout.seed"), t = get_number(env, step, "dropout.step");
    if (s < 0 || s > 4294967295.0 || std::floor(s) != s) throw_range(env, "integer between 0 and 4294967295", "dropout.seed", seed);
    if (t < 0 || t > 9007199254740991.0 || std::floor(t) != t)
      throw_range(env, "integer between 0 and 9007199254740991", "dropout.step", step);
    d.seed = (uint32_t)s;
    d.step = (uint32_t)(uint64_t)t;
    return d;
  }

  // trainBatch(params, grads, m, v, features, targets, indices, offset, B, hyper, step, dropoutSeed, imageWidth)
  //   -> mean loss
  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 13, "trainBatch");
    // First: hyper's getters run JS, which could dispose this network or detach a buffer taken below.
    const fcnet::OptimizerHyper hyper = get_optimizer_hyper(env, info[9]);
    fcnet::Network& n = net(env);
    const AdamBuffers b = get_adam_buffers(info, 0, parameter_count_, count_text().c_str());
    const Features f = get_features(info, 4, "features");
    const int32_t* labels;
    const float* values;
    const int64_t target_rows = get_targets(info, 5, "targets", &labels, &values);
    const int64_t N = std::min(f.rows, target_rows);
    const int64_t offset = get_int(info, 7, "offset", 0, kMaxDim);
    const int64_t B = get_int(info, 8, "B", 1, n.max_batch());
    auto indices = get_array<int32_t>(info, 6, "indices", napi_int32_array, "Int32Array", offset + B,
                                      ("offset + B = " + std::to_string(offset + B)).c_str());
    const int64_t step = get_int(info, 10, "step", 1, 9007199254740991);
    const int64_t seed = get_int(info, 11, "dropoutSeed", 0, 4294967295);
    const int64_t image_width = get_int(info, 12, "imageWidth", 0, kMaxDim);
    const int C = n.spec().sizes.back();
    settle(b.params.data, b.m.data, b.v.data);
    return guarded(env, [&] {
      int32_t* staged = n.staged_indices();
      int32_t* staged_labels = n.staged_labels();
      for (int64_t r = 0; r < B; r++) {
        const int32_t k = indices.data[offset + r];  // read once: the copy is what is checked and used
        if (k < 0 || k >= N) throw_index(env, "indices", offset + r, k, N);
        staged[r] = k;
        if (labels != nullptr) {
          const int32_t y = labels[k];
          if (y < 0 || y >= C) throw_index(env, "targets", k, y, C);
          staged_labels[r] = y;
        }
      }
      fcnet::DataSource data;
      data.image_width = (int)image_width;
      data.pixels = f.pixels;
      data.features = f.values;
      data.values = values;
      fcnet::DropoutSource dropout;
      dropout.seed = (uint32_t)seed;
      dropout.step = (uint32_t)(uint64_t)step;
      const double loss = n.train_batch({b.params.data, b.grads.data, b.m.data, b.v.data}, data, (int)B, hyper, step,
                                        dropout);
      if (n.holds_first_layer() && held_params_.IsEmpty()) {
        held_params_ = Napi::Persistent(info[0].As<Napi::Float32Array>());
        held_m_ = Napi::Persistent(info[2].As<Napi::Float32Array>());
        held_v_ = Napi::Persistent(info[3].As<Napi::Float32Array>());
      }
      return Napi::Number::New(env, loss);
    });
  }

  // computeGradients(params, grads, x, targets, B, dropout) -> mean loss; dropout: null | {seed, step} | {masks}
  Napi::Value ComputeGradients(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 6, "computeGradients");
    fcnet::Network& n = net(env);
    const int64_t B = get_int(info, 4, "B", 1, n.max_batch());
    std::vector<uint8_t> masks;
    const fcnet::DropoutSource dropout = get_dropout(env, info[5], B, n.spec(), &masks);
    const int I = n.spec().sizes.front(), K = n.spec().sizes.back();
    auto params = get_f32(info, 0, "params", parameter_count_, count_text().c_str());
    auto grads = get_f32(info, 1, "grads", parameter_count_, count_text().c_str());
    check_no_overlap(env, "grads", grads, parameter_count_, "params", params, parameter_count_);
    auto x = get_f32(info, 2, "x", B * I, times("B", B, "I", I).c_str());
    check_no_overlap(env, "grads", grads, parameter_count_, "x", x, B * I);
    const int32_t* labels;
    const float* values;
    const int64_t rows = get_targets(info, 3, "targets", &labels, &values);
    if (rows < B) {
      throw_range(env, std::string(labels ? "Int32Array" : "Float32Array") + " of at least " +
                           std::to_string(labels ? B : B * K) + " elements (" + (labels ? "B" : "B·K") + ")",
                  "targets", info[3]);
    }
    settle(params.data, nullptr, nullptr);
    return guarded(env, [&] {
      int32_t* staged_labels = n.staged_labels();
      if (labels != nullptr)
        for (int64_t r = 0; r < B; r++) {
          const int32_t y = labels[r];
          if (y < 0 || y >= K) throw_index(env, "targets", r, y, K);
          staged_labels[r] = y;
        }
      const double loss = n.compute_gradients({params.data, grads.data, nullptr, nullptr}, x.data, values, (int)B, dropout);
      return Napi::Number::New(env, loss);
    });
  }

  // adamStep(params, grads, m, v, hyper, step)
  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 6, "adamStep");
    const fcnet::AdamHyper hyper = get_adam_hyper(env, info[4]);
    fcnet::Network& n = net(env);
    const AdamBuffers b = get_adam_buffers(info, 0, parameter_count_, count_text().c_str());
    const int64_t step = get_int(info, 5, "step", 1, 9007199254740991);
    settle(b.params.data, b.m.data, b.v.data);
    guarded(env, [&] { n.adam_step({b.params.data, b.grads.data, b.m.data, b.v.data}, hyper, step); });
    return env.Undefined();
  }

  // forward(params, x, n, logits): logits (n, C) of x (n, I), evaluation mode.
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 4, "forward");
    fcnet::Network& n = net(env);
    const int I = n.spec().sizes.front(), C = n.spec().sizes.back();
    const int64_t rows = get_int(info, 2, "n", 1, kMaxDim);
    auto params = get_f32(info, 0, "params", parameter_count_, count_text().c_str());
    auto x = get_f32(info, 1, "x", rows * I, times("n", rows, "I", I).c_str());
    auto logits = get_f32(info, 3, "logits", rows * C, times("n", rows, "C", C).c_str());
    check_no_overlap(env, "logits", logits, rows * C, "x", x, rows * I);
    check_no_overlap(env, "logits", logits, rows * C, "params", params, parameter_count_);
    settle(params.data, nullptr, nullptr);
    guarded(env, [&] { n.forward(params.data, x.data, rows, logits.data); });
    return env.Undefined();
  }

  // evaluate(params, features, targets, n) -> {lossSum, correct}: rows [0, n) in batches of at most maxBatch.
  Napi::Value Evaluate(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 4, "evaluate");
    fcnet::Network& n = net(env);
    auto params = get_f32(info, 0, "params", parameter_count_, count_text().c_str());
    const Features f = get_features(info, 1, "features");
    const int32_t* labels;
    const float* values;
    const int64_t target_rows = get_targets(info, 2, "targets", &labels, &values);
    const int64_t rows = get_int(info, 3, "n", 0, std::min(f.rows, target_rows));
    const int C = n.spec().sizes.back();
    std::vector<int32_t> checked;
    if (labels != nullptr) {
      checked.resize(rows);
      for (int64_t r = 0; r < rows; r++) {
        const int32_t y = labels[r];
        if (y < 0 || y >= C) throw_index(env, "targets", r, y, C);
        checked[r] = y;
      }
    }
    double loss_sum = 0.0;
    int64_t correct = 0;
    settle(params.data, nullptr, nullptr);
    guarded(env, [&] {
      fcnet::DataSource data;
      data.pixels = f.pixels;
      data.features = f.values;
      data.labels = labels ? checked.data() : nullptr;
      data.values = values;
      if (rows > 0) n.evaluate(params.data, data, rows, &loss_sum, &correct);
    });
    Napi::Object out = Napi::Object::New(env);
    out.Set("lossSum", loss_sum);
    out.Set("correct", (double)correct);
    return out;
  }

  // download(params, grads, m, v): what the engine holds inside (fc1's gradient after a sparse step; fc1.weight
  // and its moments while it trains on the sparse path) into the caller's buffers.
  Napi::Value Download(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    check_argc(info, 4, "download");
    fcnet::Network& n = net(env);
    const AdamBuffers b = get_adam_buffers(info, 0, parameter_count_, count_text().c_str());
    settle(b.params.data, b.m.data, b.v.data);
    guarded(env, [&] {
      n.download_gradients(b.grads.data);
      n.write_back({b.params.data, b.grads.data, b.m.data, b.v.data});
    });
    return env.Undefined();
  }

  // The caller changed its buffers: the engine drops what it holds of them.
  Napi::Value InvalidateShadow(const Napi::CallbackInfo& info) {
    net(info.Env()).invalidate_shadow();
    forget_held();
    return info.Env().Undefined();
  }

  // takePhaseSeconds() -> Float64Array [gather, forward, backward, first layer's sparse gradient, Adam, steps,
  // sparse steps] since the last call (then reset).
  Napi::Value TakePhaseSeconds(const Napi::CallbackInfo& info) {
    fcnet::Network& n = net(info.Env());
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), fcnet::Network::kPhases + 2);
    for (int i = 0; i < fcnet::Network::kPhases; i++) out[i] = n.phase_seconds()[i];
    out[fcnet::Network::kPhases] = (double)n.steps();
    out[fcnet::Network::kPhases + 1] = (double)n.sparse_steps();
    n.reset_phase_seconds();
    return out;
  }

  // Joins the threads and frees the scratch now rather than at garbage collection.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    settle(nullptr, nullptr, nullptr);  // nothing held is lost
    net_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), net(info.Env()).threads()); }
  // Whether the scratch and threads exist yet (they are made on first use).
  Napi::Value Started(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), net(info.Env()).started()); }
  Napi::Value VectorFloats(const Napi::CallbackInfo& info) {
    net(info.Env());
    return Napi::Number::New(info.Env(), fcnet::tile_vector_floats());
  }

  // While the engine holds fc1 (network.h), the arrays it came from, kept alive so that it can always be written
  // back there: before a call with other buffers, and at dispose.
  Napi::Reference<Napi::Float32Array> held_params_, held_m_, held_v_;

  void forget_held() {
    held_params_.Reset();
    held_m_.Reset();
    held_v_.Reset();
  }

  // Unless params, m and v (null: not given) are the buffers fc1 is held for, writes it back into those and lets
  // them be the truth again. An array detached since (transferred away) cannot take it: what it held is dropped.
  void settle(const float* params, const float* m, const float* v) {
    if (!net_ || !net_->holds_first_layer() || held_params_.IsEmpty()) {
      forget_held();
      return;
    }
    Napi::Float32Array hp = held_params_.Value(), hm = held_m_.Value(), hv = held_v_.Value();
    const uint64_t n = parameter_count_;
    if (params == hp.Data() && (m == nullptr || m == hm.Data()) && (v == nullptr || v == hv.Data())) return;
    if (hp.Data() != nullptr && hm.Data() != nullptr && hv.Data() != nullptr && hp.ElementLength() >= n &&
        hm.ElementLength() >= n && hv.ElementLength() >= n)
      net_->release_first_layer({hp.Data(), nullptr, hm.Data(), hv.Data()});
    else
      net_->invalidate_shadow();
    forget_held();
  }

  std::unique_ptr<fcnet::Network> net_;
  uint64_t parameter_count_ = 0;
};

}  // namespace

Napi::Function network_class(Napi::Env env) { return NetworkWrap::Define(env); }

}  // namespace fcnet_napi
