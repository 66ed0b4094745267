// Argument checks for the Node-API layer: each throws a TypeError or RangeError naming the argument,
// in one message shape: "Expected Float32Array of at least 6 elements (B·I = 2·3) for x but received ...".
#pragma once

#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels.h"
#include "optimizer_math.h"

namespace fcnet_napi {

constexpr int64_t kMaxDim = 2147483647;  // sizes are C ints inside the kernels

template <typename T>
struct Span {
  T* data;
  size_t length;
};

inline std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    Napi::TypedArray a = v.As<Napi::TypedArray>();
    static const char* names[] = {"Int8Array",    "Uint8Array",   "Uint8ClampedArray", "Int16Array",
                                  "Uint16Array",  "Int32Array",   "Uint32Array",       "Float32Array",
                                  "Float64Array", "BigInt64Array", "BigUint64Array"};
    const int t = (int)a.TypedArrayType();
    const char* name = t >= 0 && t < 11 ? names[t] : "TypedArray";
    return std::string(name) + " of length " + std::to_string(a.ElementLength());
  }
  if (v.IsNumber()) return Napi::Value(v).ToString().Utf8Value() + " of type number";
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "' of type string";
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsBoolean()) return std::string(v.As<Napi::Boolean>().Value() ? "true" : "false") + " of type boolean";
  if (v.IsArray()) return "Array";
  if (v.IsSymbol()) return "a value of type symbol";
  if (v.IsBigInt()) return "a value of type bigint";
  return "a value of type " + std::string(v.IsFunction() ? "function" : "object");
}

[[noreturn]] inline void throw_type(const Napi::Env& env, const std::string& expected, const char* name, const Napi::Value& v) {
  throw Napi::TypeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}

[[noreturn]] inline void throw_range(const Napi::Env& env, const std::string& expected, const char* name,
                              const Napi::Value& v) {
  throw Napi::RangeError::New(env, "Expected " + expected + " for " + name + " but received " + describe(v));
}

inline int64_t get_int(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t min, int64_t max) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) throw_type(info.Env(), "integer", name, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= (double)min && d <= (double)max) || std::floor(d) != d) {
    throw_range(info.Env(), "integer between " + std::to_string(min) + " and " + std::to_string(max), name, v);
  }
  return (int64_t)d;
}

inline double get_number(const Napi::Env& env, const Napi::Value& v, const char* name) {
  if (!v.IsNumber()) throw_type(env, "finite number", name, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(env, "finite number", name, v);
  return d;
}

template <typename T>
Span<T> get_array(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type,
                  const char* type_name, uint64_t min_length, const char* size_text) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) throw_type(info.Env(), type_name, name, v);
  // Raw N-API here: it hands the data pointer for SharedArrayBuffer-backed views too, already at the view's offset.
  napi_typedarray_type actual;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t byte_offset = 0;
  if (napi_get_typedarray_info(info.Env(), v, &actual, &length, &data, &buffer, &byte_offset) != napi_ok) {
    throw_type(info.Env(), type_name, name, v);
  }
  if (length < min_length) {
    throw_range(info.Env(), std::string(type_name) + " of at least " + std::to_string(min_length) + " elements (" +
                                size_text + ")",
                name, v);
  }
  // A detached buffer has length 0 and no data: only reachable with min_length 0, and then nothing is read.
  return Span<T>{static_cast<T*>(data), length};
}

inline Span<float> get_f32(const Napi::CallbackInfo& info, size_t i, const char* name, uint64_t min_length,
                    const char* size_text) {
  return get_array<float>(info, i, name, napi_float32_array, "Float32Array", min_length, size_text);
}

inline bool is_null(const Napi::CallbackInfo& info, size_t i) { return info[i].IsNull() || info[i].IsUndefined(); }

// Outputs written while inputs are read must not share memory: the result would be silently wrong.
template <typename A, typename B>
void check_no_overlap(const Napi::Env& env, const char* out_name, Span<A> out, uint64_t out_used, const char* in_name,
                      Span<B> in, uint64_t in_used) {
  if (out.data == nullptr || in.data == nullptr) return;
  const uint8_t* a0 = reinterpret_cast<const uint8_t*>(out.data);
  const uint8_t* a1 = a0 + out_used * sizeof(A);
  const uint8_t* b0 = reinterpret_cast<const uint8_t*>(in.data);
  const uint8_t* b1 = b0 + in_used * sizeof(B);
  if (a0 < b1 && b0 < a1) {
    throw Napi::RangeError::New(env, std::string("Expected ") + out_name + " not to share memory with " + in_name +
                                         " but the two views overlap");
  }
}

// The four parameter-sized buffers of an Adam step (arguments first .. first + 3), each at least n long and none
// sharing memory with another.
struct AdamBuffers {
  Span<float> params, grads, m, v;
};
inline AdamBuffers get_adam_buffers(const Napi::CallbackInfo& info, size_t first, uint64_t n, const char* size_text) {
  const Napi::Env env = info.Env();
  AdamBuffers b{get_f32(info, first, "params", n, size_text), get_f32(info, first + 1, "grads", n, size_text),
                get_f32(info, first + 2, "m", n, size_text), get_f32(info, first + 3, "v", n, size_text)};
  check_no_overlap(env, "params", b.params, n, "grads", b.grads, n);
  check_no_overlap(env, "params", b.params, n, "m", b.m, n);
  check_no_overlap(env, "params", b.params, n, "v", b.v, n);
  check_no_overlap(env, "m", b.m, n, "grads", b.grads, n);
  check_no_overlap(env, "m", b.m, n, "v", b.v, n);
  check_no_overlap(env, "v", b.v, n, "grads", b.grads, n);
  return b;
}

// Values native code indexes with (labels, indices) are read ONCE out of the caller's memory into `owned`, and
// checked there: a view of a SharedArrayBuffer can be changed by another thread between a check in place and the
// use, and an index checked in place could be out of range when used. The loads are atomic (relaxed) so that the
// compiler cannot read the caller's memory again instead of the copy. Throws a RangeError naming `name[first + r]`
// for the first value outside [0, limit). Returns owned.data(), count values.
inline const int32_t* copy_checked_indices(const Napi::Env& env, std::vector<int32_t>& owned, const int32_t* source,
                                           size_t count, int64_t limit, const char* name, int64_t first) {
  owned.resize(count);
  for (size_t r = 0; r < count; r++) owned[r] = __atomic_load_n(source + r, __ATOMIC_RELAXED);
  for (size_t r = 0; r < count; r++) {
    if (owned[r] < 0 || owned[r] >= limit) {
      throw Napi::RangeError::New(env, "Expected integer between 0 and " + std::to_string(limit - 1) + " for " + name + "[" +
                                           std::to_string(first + (int64_t)r) + "] but received " +
                                           std::to_string(owned[r]) + " of type number");
    }
  }
  return owned.data();
}

inline void check_argc(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n) {
    throw Napi::TypeError::New(info.Env(), std::string(fn) + " expects " + std::to_string(n) + " arguments but received " +
                                               std::to_string(info.Length()));
  }
}

inline std::string times(const char* a, int64_t x, const char* b, int64_t y) {
  return std::string(a) + "·" + b + " = " + std::to_string(x) + "·" + std::to_string(y);
}

// {lr, beta1, beta2, eps, weightDecay}, checked. Reading runs the object's getters (JS, which may detach a buffer
// or dispose an object): call it before taking any array's data pointer.
inline fcnet::AdamHyper get_adam_hyper(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsObject()) throw_type(env, "object {lr, beta1, beta2, eps, weightDecay}", "hyper", value);
  const Napi::Object o = value.As<Napi::Object>();
  fcnet::AdamHyper h{get_number(env, o.Get("lr"), "hyper.lr"), get_number(env, o.Get("beta1"), "hyper.beta1"),
                     get_number(env, o.Get("beta2"), "hyper.beta2"), get_number(env, o.Get("eps"), "hyper.eps"),
                     get_number(env, o.Get("weightDecay"), "hyper.weightDecay")};
  if (!(h.beta1 >= 0 && h.beta1 < 1)) throw_range(env, "number from 0 to below 1", "hyper.beta1", o.Get("beta1"));
  if (!(h.beta2 >= 0 && h.beta2 < 1)) throw_range(env, "number from 0 to below 1", "hyper.beta2", o.Get("beta2"));
  return h;
}

// The training step's optimizer: {kind?, lr, weightDecay, ...}. kind 'adam' (the default) and 'adamw' take beta1,
// beta2 and eps; 'sgd' takes momentum, dampening and nesterov (each optional). Checked as get_adam_hyper; the
// same order rule for getters.
inline fcnet::OptimizerHyper get_optimizer_hyper(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsObject()) throw_type(env, "object {kind, lr, weightDecay, ...}", "hyper", value);
  const Napi::Object o = value.As<Napi::Object>();
  const Napi::Value kind = o.Get("kind");
  fcnet::OptimizerHyper h;
  if (kind.IsUndefined() || (kind.IsString() && kind.As<Napi::String>().Utf8Value() == "adam")) {
    h.kind = fcnet::OptimizerKind::kAdam;
  } else if (kind.IsString() && kind.As<Napi::String>().Utf8Value() == "adamw") {
    h.kind = fcnet::OptimizerKind::kAdamW;
  } else if (kind.IsString() && kind.As<Napi::String>().Utf8Value() == "sgd") {
    h.kind = fcnet::OptimizerKind::kSGD;
  } else {
    throw_range(env, "one of 'adam', 'adamw', 'sgd'", "hyper.kind", kind);
  }
  if (h.kind == fcnet::OptimizerKind::kSGD) {
    h.adam.lr = get_number(env, o.Get("lr"), "hyper.lr");
    h.adam.weight_decay = get_number(env, o.Get("weightDecay"), "hyper.weightDecay");
    const Napi::Value momentum = o.Get("momentum"), dampening = o.Get("dampening"), nesterov = o.Get("nesterov");
    h.momentum = momentum.IsUndefined() ? 0.0 : get_number(env, momentum, "hyper.momentum");
    h.dampening = dampening.IsUndefined() ? 0.0 : get_number(env, dampening, "hyper.dampening");
    if (!nesterov.IsUndefined() && !nesterov.IsBoolean()) throw_type(env, "boolean", "hyper.nesterov", nesterov);
    h.nesterov = nesterov.IsBoolean() && nesterov.As<Napi::Boolean>().Value();
    if (!(h.momentum >= 0 && h.momentum <= 1)) throw_range(env, "number from 0 to 1", "hyper.momentum", momentum);
    if (!(h.dampening >= 0 && h.dampening <= 1)) throw_range(env, "number from 0 to 1", "hyper.dampening", dampening);
  } else {
    h.adam = get_adam_hyper(env, value);
  }
  return h;
}

}  // namespace fcnet_napi
