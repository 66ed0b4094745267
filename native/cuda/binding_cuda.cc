// The CUDA addon's N-API surface: each method checks its arguments (TypeError or RangeError naming the
// argument, in the message shape of lib/check.ts), then calls CudaTrainer. CUDA failures arrive as C++
// exceptions and leave as JS Errors with CUDA's words; nothing here aborts or exits.
#include <napi.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine.h"

namespace {

/** A number as JS's String() writes it (shortest form that reads back the same). */
std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string describe(const Napi::Value& value) {
  if (value.IsString()) return "'" + value.As<Napi::String>().Utf8Value() + "' of type string";
  if (value.IsNull()) return "null";
  if (value.IsUndefined()) return "undefined of type undefined";
  if (value.IsNumber()) return number_text(value.As<Napi::Number>().DoubleValue()) + " of type number";
  if (value.IsBoolean()) return std::string(value.As<Napi::Boolean>().Value() ? "true" : "false") + " of type boolean";
  if (value.IsTypedArray()) {
    const Napi::TypedArray array = value.As<Napi::TypedArray>();
    static const char* const names[] = {"Int8Array",    "Uint8Array",    "Uint8ClampedArray", "Int16Array",
                                        "Uint16Array",  "Int32Array",    "Uint32Array",       "Float32Array",
                                        "Float64Array", "BigInt64Array", "BigUint64Array"};
    const int type = static_cast<int>(array.TypedArrayType());
    const char* name = type >= 0 && type < 11 ? names[type] : "TypedArray";
    return std::string(name) + " of length " + std::to_string(array.ElementLength());
  }
  if (value.IsArray()) return "Array of length " + std::to_string(value.As<Napi::Array>().Length());
  if (value.IsFunction()) return "function of type function";
  return "[object Object] of type object";
}

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& expected, const char* name,
                                   const Napi::Value& value) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(value));
}

[[noreturn]] void throw_range_error(Napi::Env env, const std::string& expected, const char* name,
                                    const Napi::Value& value) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(value));
}

template <typename T>
Napi::TypedArrayOf<T> typed_array_arg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type,
                                      const char* type_name, size_t min_length) {
  const Napi::Value value = info[i];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw_type_error(info.Env(), type_name, name, value);
  }
  const Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
  if (array.ElementLength() < min_length) {
    throw_range_error(info.Env(), std::string(type_name) + " of length at least " + std::to_string(min_length), name,
                      value);
  }
  return array;
}

Napi::Float32Array float32_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min_length) {
  return typed_array_arg<float>(info, i, name, napi_float32_array, "Float32Array", min_length);
}

Napi::Int32Array int32_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min_length) {
  return typed_array_arg<int32_t>(info, i, name, napi_int32_array, "Int32Array", min_length);
}

Napi::Uint8Array uint8_arg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t min_length) {
  return typed_array_arg<uint8_t>(info, i, name, napi_uint8_array, "Uint8Array", min_length);
}

int integer_arg(const Napi::CallbackInfo& info, size_t i, const char* name, long long min, long long max) {
  const Napi::Value value = info[i];
  const std::string expected = "integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (!value.IsNumber()) throw_type_error(info.Env(), expected, name, value);
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v == std::floor(v)) || v < static_cast<double>(min) || v > static_cast<double>(max)) {
    throw_range_error(info.Env(), expected, name, value);
  }
  return static_cast<int>(v);
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  const Napi::Value value = info[i];
  const std::string expected = "number from " + number_text(min) + " to " + number_text(max);
  if (!value.IsNumber()) throw_type_error(info.Env(), expected, name, value);
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || v < min || v > max) throw_range_error(info.Env(), expected, name, value);
  return v;
}

bool boolean_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value value = info[i];
  if (!value.IsBoolean()) throw_type_error(info.Env(), "boolean", name, value);
  return value.As<Napi::Boolean>().Value();
}

/** Runs `body`, turning the trainer's C++ exceptions into JS errors of the right kind. */
template <typename Body>
auto guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::out_of_range& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

/** Adam's hyper-parameters from five consecutive arguments, checked as torch.optim.Adam checks them. */
AdamHyper adam_args(const Napi::CallbackInfo& info, size_t first) {
  AdamHyper h;
  h.lr = number_arg(info, first, "hyper.lr", 0.0, 1e6);
  h.beta1 = number_arg(info, first + 1, "hyper.beta1", 0.0, 0.9999999999);
  h.beta2 = number_arg(info, first + 2, "hyper.beta2", 0.0, 0.9999999999);
  h.eps = number_arg(info, first + 3, "hyper.eps", 0.0, 1e6);
  h.weight_decay = number_arg(info, first + 4, "hyper.weightDecay", 0.0, 1e6);
  return h;
}

class CudaEngineWrap : public Napi::ObjectWrap<CudaEngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaEngine",
                       {
                           InstanceMethod("parameterCount", &CudaEngineWrap::ParameterCount),
                           InstanceMethod("device", &CudaEngineWrap::Device),
                           InstanceMethod("upload", &CudaEngineWrap::Upload),
                           InstanceMethod("download", &CudaEngineWrap::Download),
                           InstanceMethod("forward", &CudaEngineWrap::Forward),
                           InstanceMethod("computeGradients", &CudaEngineWrap::ComputeGradients),
                           InstanceMethod("adamStep", &CudaEngineWrap::AdamStep),
                           InstanceMethod("attachDataset", &CudaEngineWrap::AttachDataset),
                           InstanceMethod("detachDataset", &CudaEngineWrap::DetachDataset),
                           InstanceMethod("trainBatch", &CudaEngineWrap::TrainBatch),
                           InstanceMethod("evaluateDataset", &CudaEngineWrap::EvaluateDataset),
                           InstanceMethod("dispose", &CudaEngineWrap::Dispose),
                       });
  }

  // new CudaEngine(sizes: Int32Array, maxBatch: number, useGraph: boolean, forcedTile: number)
  explicit CudaEngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaEngineWrap>(info) {
    const Napi::Env env = info.Env();
    const Napi::Int32Array sizes = int32_arg(info, 0, "sizes", 2);
    const int max_batch = integer_arg(info, 1, "maxBatch", 1, 1 << 24);
    CudaTrainerOptions options;
    options.use_graph = boolean_arg(info, 2, "useGraph");
    options.forced_tile = integer_arg(info, 3, "forcedTile", -1, 3);
    const std::vector<int> widths(sizes.Data(), sizes.Data() + sizes.ElementLength());
    trainer_ = guarded(env, [&] { return std::make_unique<CudaTrainer>(widths, max_batch, options); });
    sizes_ = widths;
    max_batch_ = max_batch;
  }

 private:
  std::unique_ptr<CudaTrainer> trainer_;
  std::vector<int> sizes_;  // (L + 1) layer widths, input first
  int max_batch_ = 0;

  CudaTrainer& trainer(Napi::Env env) {
    if (trainer_->disposed()) throw Napi::Error::New(env, "This CudaEngine has been disposed");
    return *trainer_;
  }
  size_t params() const { return trainer_->parameter_count(); }
  int inputs() const { return sizes_.front(); }
  int classes() const { return sizes_.back(); }

  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(params()));
  }

  Napi::Value Device(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), trainer_->device_description());
  }

  // upload(params, grads, m, v: Float32Array(P))
  Napi::Value Upload(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const Napi::Float32Array p = float32_arg(info, 0, "params", params());
    const Napi::Float32Array g = float32_arg(info, 1, "grads", params());
    const Napi::Float32Array m = float32_arg(info, 2, "m", params());
    const Napi::Float32Array v = float32_arg(info, 3, "v", params());
    guarded(env, [&] { t.upload(p.Data(), g.Data(), m.Data(), v.Data()); });
    return env.Undefined();
  }

  // download(params, grads, m, v: Float32Array(P))
  Napi::Value Download(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    Napi::Float32Array p = float32_arg(info, 0, "params", params());
    Napi::Float32Array g = float32_arg(info, 1, "grads", params());
    Napi::Float32Array m = float32_arg(info, 2, "m", params());
    Napi::Float32Array v = float32_arg(info, 3, "v", params());
    guarded(env, [&] { t.download(p.Data(), g.Data(), m.Data(), v.Data()); });
    return env.Undefined();
  }

  // forward(x: Float32Array(B·D), B, logits: Float32Array(B·C))
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int B = integer_arg(info, 1, "B", 1, max_batch_);
    const Napi::Float32Array x = float32_arg(info, 0, "x", static_cast<size_t>(B) * inputs());
    Napi::Float32Array logits = float32_arg(info, 2, "logits", static_cast<size_t>(B) * classes());
    guarded(env, [&] { t.forward(logits.Data(), x.Data(), B); });
    return env.Undefined();
  }

  // computeGradients(x: Float32Array(B·D), labels: Int32Array(B), B, grads: Float32Array(P)) → mean loss
  Napi::Value ComputeGradients(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int B = integer_arg(info, 2, "B", 1, max_batch_);
    const Napi::Float32Array x = float32_arg(info, 0, "x", static_cast<size_t>(B) * inputs());
    const Napi::Int32Array labels = int32_arg(info, 1, "labels", static_cast<size_t>(B));
    Napi::Float32Array grads = float32_arg(info, 3, "grads", params());
    const double loss = guarded(env, [&] { return t.compute_gradients(grads.Data(), x.Data(), labels.Data(), B); });
    return Napi::Number::New(env, loss);
  }

  // adamStep(lr, beta1, beta2, eps, weightDecay, step)
  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const AdamHyper h = adam_args(info, 0);
    const double step = integer_arg(info, 5, "step", 1, 2147483647);
    guarded(env, [&] { t.adam_step(h, step); });
    return env.Undefined();
  }

  // attachDataset(images: Uint8Array(N·D), labels: Int32Array(N), n, d) → dataset id
  Napi::Value AttachDataset(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int n = integer_arg(info, 2, "n", 1, 2147483647);
    const int d = integer_arg(info, 3, "d", inputs(), inputs());
    const Napi::Uint8Array images = uint8_arg(info, 0, "images", static_cast<size_t>(n) * d);
    const Napi::Int32Array labels = int32_arg(info, 1, "labels", static_cast<size_t>(n));
    const int id = guarded(env, [&] { return t.attach_dataset(images.Data(), labels.Data(), n, d); });
    return Napi::Number::New(env, id);
  }

  // detachDataset(id)
  Napi::Value DetachDataset(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int id = integer_arg(info, 0, "dataset", 0, 2147483647);
    guarded(env, [&] { t.detach_dataset(id); });
    return env.Undefined();
  }

  // trainBatch(id, indices: Int32Array, offset, B, lr, beta1, beta2, eps, weightDecay, step, wantLoss) → loss or NaN
  Napi::Value TrainBatch(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int id = integer_arg(info, 0, "dataset", 0, 2147483647);
    const Napi::Int32Array indices = int32_arg(info, 1, "indices", 1);
    const int B = integer_arg(info, 3, "B", 1, max_batch_);
    const long long last_offset = static_cast<long long>(indices.ElementLength()) - B;
    const int offset = integer_arg(info, 2, "offset", 0, last_offset < 0 ? 0 : last_offset);
    if (last_offset < 0) {
      throw_range_error(env, "Int32Array of length at least " + std::to_string(B), "indices", info[1]);
    }
    const AdamHyper h = adam_args(info, 4);
    const double step = integer_arg(info, 9, "step", 1, 2147483647);
    const bool want_loss = boolean_arg(info, 10, "wantLoss");
    const double loss = guarded(env, [&] {
      return t.train_batch(id, indices.Data(), indices.ElementLength(), offset, B, h, step, want_loss);
    });
    return Napi::Number::New(env, loss);
  }

  // evaluateDataset(id) → { lossSum, correct }
  Napi::Value EvaluateDataset(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    CudaTrainer& t = trainer(env);
    const int id = integer_arg(info, 0, "dataset", 0, 2147483647);
    const EvaluationTotals totals = guarded(env, [&] { return t.evaluate_dataset(id); });
    Napi::Object result = Napi::Object::New(env);
    result.Set("lossSum", Napi::Number::New(env, totals.loss_sum));
    result.Set("correct", Napi::Number::New(env, static_cast<double>(totals.correct)));
    return result;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    trainer_->dispose();
    return info.Env().Undefined();
  }

};

Napi::Value Probe(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const CudaProbe probe = cuda_probe();
  Napi::Object result = Napi::Object::New(env);
  result.Set("available", Napi::Boolean::New(env, probe.available));
  result.Set("status", Napi::String::New(env, probe.status));
  result.Set("message", Napi::String::New(env, probe.message));
  result.Set("device", Napi::String::New(env, probe.device));
  result.Set("computeCapability", Napi::String::New(env, std::to_string(probe.major) + "." + std::to_string(probe.minor)));
  result.Set("memoryBytes", Napi::Number::New(env, static_cast<double>(probe.memory_bytes)));
  result.Set("multiprocessors", Napi::Number::New(env, probe.multiprocessors));
  result.Set("driverVersion", Napi::Number::New(env, probe.driver_version));
  result.Set("runtimeVersion", Napi::Number::New(env, probe.runtime_version));
  result.Set("emulated", Napi::Boolean::New(env, probe.emulated));
  return result;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("CudaEngine", CudaEngineWrap::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(fcnet_cuda, Init)
