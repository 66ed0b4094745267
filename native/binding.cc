// The thin Node-API layer: checks every argument, then calls the plain C++ kernels.
// A wrong call throws a TypeError or RangeError naming the argument; it never touches memory out of bounds.
#include <napi.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "gemm.h"
#include "kernels.h"
#include "napi_checks.h"
#include "network_binding.h"

namespace {

using namespace fcnet_napi;

// linearForward(out, x, w, b, B, I, O, relu)
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  check_argc(info, 8, "linearForward");
  const int64_t B = get_int(info, 4, "B", 1, kMaxDim), I = get_int(info, 5, "I", 1, kMaxDim),
                O = get_int(info, 6, "O", 1, kMaxDim);
  if (!info[7].IsBoolean()) throw_type(info.Env(), "boolean", "relu", info[7]);
  auto out = get_f32(info, 0, "out", B * O, times("B", B, "O", O).c_str());
  auto x = get_f32(info, 1, "x", B * I, times("B", B, "I", I).c_str());
  auto w = get_f32(info, 2, "w", O * I, times("O", O, "I", I).c_str());
  auto b = get_f32(info, 3, "b", O, ("O = " + std::to_string(O)).c_str());
  check_no_overlap(info.Env(), "out", out, B * O, "x", x, B * I);
  check_no_overlap(info.Env(), "out", out, B * O, "w", w, O * I);
  check_no_overlap(info.Env(), "out", out, B * O, "b", b, O);
  fcnet::linear_forward(out.data, x.data, w.data, b.data, (int)B, (int)I, (int)O, info[7].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// linearBackward(dx | null, dw, db, dout, x, w, B, I, O)
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  check_argc(info, 9, "linearBackward");
  const int64_t B = get_int(info, 6, "B", 1, kMaxDim), I = get_int(info, 7, "I", 1, kMaxDim),
                O = get_int(info, 8, "O", 1, kMaxDim);
  const auto bi = times("B", B, "I", I), oi = times("O", O, "I", I), bo = times("B", B, "O", O);
  const auto o_text = "O = " + std::to_string(O);
  auto dw = get_f32(info, 1, "dw", O * I, oi.c_str());
  auto db = get_f32(info, 2, "db", O, o_text.c_str());
  auto dout = get_f32(info, 3, "dout", B * O, bo.c_str());
  auto x = get_f32(info, 4, "x", B * I, bi.c_str());
  auto w = get_f32(info, 5, "w", O * I, oi.c_str());
  Span<float> dx{nullptr, 0};
  if (!is_null(info, 0)) dx = get_f32(info, 0, "dx", B * I, bi.c_str());
  for (auto [name, out, used] : {std::tuple{"dw", dw, O * I}, std::tuple{"db", db, O}, std::tuple{"dx", dx, B * I}}) {
    check_no_overlap(info.Env(), name, out, used, "dout", dout, B * O);
    check_no_overlap(info.Env(), name, out, used, "x", x, B * I);
    check_no_overlap(info.Env(), name, out, used, "w", w, O * I);
  }
  check_no_overlap(info.Env(), "dw", dw, O * I, "db", db, O);
  check_no_overlap(info.Env(), "dx", dx, B * I, "dw", dw, O * I);
  check_no_overlap(info.Env(), "dx", dx, B * I, "db", db, O);
  fcnet::linear_backward(dx.data, dw.data, db.data, dout.data, x.data, w.data, (int)B, (int)I, (int)O);
  return info.Env().Undefined();
}

// reluBackward(d, y, n)
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  check_argc(info, 3, "reluBackward");
  const int64_t n = get_int(info, 2, "n", 0, 9007199254740991);
  const auto n_text = "n = " + std::to_string(n);
  auto d = get_f32(info, 0, "d", n, n_text.c_str());
  auto y = get_f32(info, 1, "y", n, n_text.c_str());
  check_no_overlap(info.Env(), "d", d, n, "y", y, n);
  fcnet::relu_backward(d.data, y.data, (size_t)n);
  return info.Env().Undefined();
}

// softmaxCrossEntropy(dlogits | null, logits, labels, B, C) -> mean loss
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  check_argc(info, 5, "softmaxCrossEntropy");
  const int64_t B = get_int(info, 3, "B", 1, kMaxDim), C = get_int(info, 4, "C", 1, kMaxDim);
  const auto bc = times("B", B, "C", C), b_text = "B = " + std::to_string(B);
  auto logits = get_f32(info, 1, "logits", B * C, bc.c_str());
  auto labels = get_array<int32_t>(info, 2, "labels", napi_int32_array, "Int32Array", B, b_text.c_str());
  Span<float> dlogits{nullptr, 0};
  if (!is_null(info, 0)) {
    dlogits = get_f32(info, 0, "dlogits", B * C, bc.c_str());
    check_no_overlap(info.Env(), "dlogits", dlogits, B * C, "logits", logits, B * C);
    check_no_overlap(info.Env(), "dlogits", dlogits, B * C, "labels", labels, B);
  }
  // Read once into memory this thread owns, checked there: the caller's view may be shared with another thread.
  thread_local std::vector<int32_t> owned;
  const int32_t* y = copy_checked_indices(info.Env(), owned, labels.data, (size_t)B, C, "labels", 0);
  const double loss = fcnet::softmax_cross_entropy(dlogits.data, logits.data, y, (int)B, (int)C);
  return Napi::Number::New(info.Env(), loss);
}

// adamUpdate(params, grads, m, v, n, {lr, beta1, beta2, eps, weightDecay}, step)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  check_argc(info, 7, "adamUpdate");
  const Napi::Env env = info.Env();
  const int64_t n = get_int(info, 4, "n", 0, 9007199254740991);
  const int64_t step = get_int(info, 6, "step", 1, 9007199254740991);
  const fcnet::AdamHyper h = get_adam_hyper(env, info[5]);
  const auto n_text = "n = " + std::to_string(n);
  const AdamBuffers b = get_adam_buffers(info, 0, n, n_text.c_str());
  fcnet::adam_update(b.params.data, b.grads.data, b.m.data, b.v.data, (size_t)n, h, step);
  return env.Undefined();
}

// argmax(out, x, B, C)
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  check_argc(info, 4, "argmax");
  const int64_t B = get_int(info, 2, "B", 1, kMaxDim), C = get_int(info, 3, "C", 1, kMaxDim);
  auto out = get_array<int32_t>(info, 0, "out", napi_int32_array, "Int32Array", B, ("B = " + std::to_string(B)).c_str());
  auto x = get_f32(info, 1, "x", B * C, times("B", B, "C", C).c_str());
  check_no_overlap(info.Env(), "out", out, B, "x", x, B * C);
  fcnet::argmax_rows(out.data, x.data, (int)B, (int)C);
  return info.Env().Undefined();
}

// gatherBatch(x, images, indices, offset, B, D)
Napi::Value GatherBatch(const Napi::CallbackInfo& info) {
  check_argc(info, 6, "gatherBatch");
  const int64_t offset = get_int(info, 3, "offset", 0, kMaxDim);
  const int64_t B = get_int(info, 4, "B", 1, kMaxDim), D = get_int(info, 5, "D", 1, kMaxDim);
  auto x = get_f32(info, 0, "x", B * D, times("B", B, "D", D).c_str());
  auto images = get_array<uint8_t>(info, 1, "images", napi_uint8_array, "Uint8Array", D, ("D = " + std::to_string(D)).c_str());
  auto indices = get_array<int32_t>(info, 2, "indices", napi_int32_array, "Int32Array", offset + B,
                                    ("offset + B = " + std::to_string(offset + B)).c_str());
  check_no_overlap(info.Env(), "x", x, B * D, "images", images, images.length);
  check_no_overlap(info.Env(), "x", x, B * D, "indices", indices, indices.length);
  const int64_t n = (int64_t)(images.length / (size_t)D);
  thread_local std::vector<int32_t> owned;  // read once, checked there: the caller's view may be shared
  const int32_t* rows = copy_checked_indices(info.Env(), owned, indices.data + offset, (size_t)B, n, "indices", offset);
  fcnet::gather_batch(x.data, images.data, rows, (int)B, (int)D);
  return info.Env().Undefined();
}

// sgemm(transA, transB, M, N, K, A, B, C, useFallback): C = op(A)·op(B), tight leading dimensions. For tests.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  check_argc(info, 9, "sgemm");
  for (size_t i : {0, 1, 8}) {
    if (!info[i].IsBoolean()) throw_type(info.Env(), "boolean", i == 0 ? "transA" : i == 1 ? "transB" : "useFallback", info[i]);
  }
  const bool ta = info[0].As<Napi::Boolean>(), tb = info[1].As<Napi::Boolean>();
  const int64_t M = get_int(info, 2, "M", 1, kMaxDim), N = get_int(info, 3, "N", 1, kMaxDim),
                K = get_int(info, 4, "K", 1, kMaxDim);
  auto a = get_f32(info, 5, "A", M * K, times("M", M, "K", K).c_str());
  auto b = get_f32(info, 6, "B", K * N, times("K", K, "N", N).c_str());
  auto c = get_f32(info, 7, "C", M * N, times("M", M, "N", N).c_str());
  check_no_overlap(info.Env(), "C", c, M * N, "A", a, M * K);
  check_no_overlap(info.Env(), "C", c, M * N, "B", b, K * N);
  const int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N;
  auto gemm = info[8].As<Napi::Boolean>().Value() ? fcnet::sgemm_fallback : fcnet::sgemm;
  gemm(ta, tb, (int)M, (int)N, (int)K, 1.0f, a.data, lda, b.data, ldb, 0.0f, c.data, (int)N);
  return info.Env().Undefined();
}

// gemmInfo() -> {blas, config, threads}
Napi::Value GemmInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", fcnet::gemm_backend_name());
  o.Set("config", fcnet::gemm_backend_config());
  o.Set("threads", fcnet::gemm_threads());
  return o;
}

// setThreads(n)
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  check_argc(info, 1, "setThreads");
  fcnet::set_gemm_threads((int)get_int(info, 0, "threads", 1, 1024));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("linearForward", Napi::Function::New(env, LinearForward, "linearForward"));
  exports.Set("linearBackward", Napi::Function::New(env, LinearBackward, "linearBackward"));
  exports.Set("reluBackward", Napi::Function::New(env, ReluBackward, "reluBackward"));
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate, "adamUpdate"));
  exports.Set("argmax", Napi::Function::New(env, Argmax, "argmax"));
  exports.Set("gatherBatch", Napi::Function::New(env, GatherBatch, "gatherBatch"));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm, "sgemm"));
  exports.Set("gemmInfo", Napi::Function::New(env, GemmInfo, "gemmInfo"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("Network", fcnet_napi::network_class(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(fcnet, Init)
