// The engine's core without N-API or Node, so it can be built for another CPU and run under qemu-user
// (scripts/cross-arm64.sh): networks of awkward widths, every activation and loss, sparse and dense inputs, float
// and pixel features, held against the engine's naive reference walk (allclose), and 1 against 3 threads (the
// same bits). The cases and checks follow test/native-network.test.ts. Exits 1 on any failure, naming it.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../gemm.h"
#include "../network.h"
#include "../sparse_tiles.h"

namespace {

using fcnet::Activation;
using fcnet::Loss;

struct Case {
  std::vector<int> sizes;
  int B;
  Activation activation;
  Loss loss;
  double dropout;
  bool float_features, transform, weights;
  double density;  // fraction of non-zero inputs: 0.2 takes the sparse first layer, 0.9 the dense one
};

// The same generator as the jest test's: a 32-bit LCG.
struct Random {
  uint32_t s;
  double next() {
    s = s * 1664525u + 1013904223u;
    return s / 4294967296.0;
  }
};

struct Run {
  std::vector<float> params, grads, m, v, gradients, logits;
  std::vector<double> losses;
  double loss = 0;
  int64_t sparse_steps = 0;
};

// Three whole steps, then the gradient of one more batch and its logits: everything a run leaves behind.
Run train(const Case& c, int threads, bool reference) {
  const int I = c.sizes.front(), K = c.sizes.back(), B = c.B, N = B + 5;
  uint32_t seed = (uint32_t)B;
  for (int s : c.sizes) seed = seed * 31u + (uint32_t)s;
  Random r{seed};
  std::vector<uint8_t> pixels(c.float_features ? 0 : (size_t)N * I, 0);
  std::vector<float> features(c.float_features ? (size_t)N * I : 0, 0.0f);
  for (size_t i = 0; i < (size_t)N * I; i++)
    if (r.next() < c.density) {
      if (c.float_features) features[i] = (float)((r.next() - 0.3) * 2);
      else pixels[i] = (uint8_t)(1 + (int)(r.next() * 255));
    }
  std::vector<int32_t> labels;
  std::vector<float> values;
  if (c.loss == Loss::kCrossEntropy) {
    for (int i = 0; i < N; i++) labels.push_back((int32_t)(r.next() * K));
  } else {
    for (int i = 0; i < N * K; i++)
      values.push_back(c.loss == Loss::kBceWithLogits ? (r.next() < 0.5 ? 1.0f : 0.0f) : (float)(r.next() * 2 - 1));
  }
  size_t P = 0;
  for (size_t l = 0; l + 1 < c.sizes.size(); l++) P += (size_t)c.sizes[l] * c.sizes[l + 1] + c.sizes[l + 1];
  std::vector<float> initial(P);
  for (float& p : initial) p = (float)((r.next() - 0.5) * 0.2);

  fcnet::NetworkSpec spec;
  spec.sizes = c.sizes;
  spec.activation = c.activation;
  spec.dropout = c.dropout;
  spec.loss = c.loss;
  if (c.weights)
    for (int k = 0; k < K; k++) spec.class_weights.push_back(0.5f + k);
  if (c.transform)
    for (int k = 0; k < I; k++) {
      spec.input_mean.push_back(0.1f + (k % 5) * 0.02f);
      spec.input_std.push_back(0.3f + (k % 3) * 0.1f);
    }

  fcnet::Network net(spec, B, threads, reference);
  Run run;
  run.params = initial;
  run.grads.assign(P, 0.0f);
  run.m.assign(P, 0.0f);
  run.v.assign(P, 0.0f);
  const fcnet::ParameterPointers p{run.params.data(), run.grads.data(), run.m.data(), run.v.data()};
  fcnet::DataSource data;
  data.pixels = c.float_features ? nullptr : pixels.data();
  data.features = c.float_features ? features.data() : nullptr;
  data.labels = labels.empty() ? nullptr : labels.data();
  data.values = values.empty() ? nullptr : values.data();
  fcnet::OptimizerHyper hyper;
  hyper.adam = {1e-2, 0.9, 0.999, 1e-8, 0.0};
  fcnet::DropoutSource hashed;
  hashed.seed = 7;
  net.reset_phase_seconds();
  for (int step = 1; step <= 3; step++) {
    const int offset = (step * 2) % (N - B + 1);
    for (int b = 0; b < B; b++) {
      net.staged_indices()[b] = ((offset + b) * 7 + 3) % N;  // the jest test's order: (i·7 + 3) mod N
      if (!labels.empty()) net.staged_labels()[b] = labels[net.staged_indices()[b]];
    }
    hashed.step = (uint32_t)step;
    run.losses.push_back(net.train_batch(p, data, B, hyper, step, hashed));
  }
  net.download_gradients(run.grads.data());
  net.release_first_layer(p);  // the weights and moments into run's buffers: the calls below use other ones
  run.sparse_steps = net.sparse_steps();

  // One more batch, rows 0..B-1 as floats (pixels scaled by 1/255), from the initial parameters.
  std::vector<float> x((size_t)B * I);
  for (size_t i = 0; i < x.size(); i++) x[i] = c.float_features ? features[i] : pixels[i] / 255.0f;
  for (int b = 0; b < B && !labels.empty(); b++) net.staged_labels()[b] = labels[b];
  run.gradients.assign(P, 0.0f);
  fcnet::DropoutSource once;
  once.seed = 3;
  once.step = 1;
  run.loss = net.compute_gradients({initial.data(), run.gradients.data(), nullptr, nullptr}, x.data(),
                                   values.empty() ? nullptr : values.data(), B, once);
  run.logits.assign((size_t)B * K, 0.0f);
  net.forward(initial.data(), x.data(), B, run.logits.data());
  return run;
}

int failures = 0;

void fail(const std::string& name, const std::string& what) {
  std::printf("FAIL %s: %s\n", name.c_str(), what.c_str());
  failures++;
}

void same_bits(const std::string& name, const char* what, const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) != 0) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && std::memcmp(&a[i], &b[i], sizeof(float)) == 0) i++;
    fail(name, std::string(what) + " differ between 1 and 3 threads first at " + std::to_string(i));
  }
}

// torch.allclose: |a − b| ≤ atol + rtol·|b|, and no NaN.
template <typename T>
void all_close(const std::string& name, const char* what, const std::vector<T>& a, const std::vector<T>& b, double rtol,
               double atol) {
  for (size_t i = 0; i < a.size(); i++) {
    const double x = a[i], y = b[i];
    if (!(std::fabs(x - y) <= atol + rtol * std::fabs(y))) {
      char text[200];
      std::snprintf(text, sizeof text, "%s[%zu] = %.9g, the reference has %.9g (rtol %g, atol %g)", what, i, x, y, rtol,
                    atol);
      fail(name, text);
      return;
    }
  }
}

std::string describe(const Case& c) {
  static const char* activations[] = {"relu", "leaky_relu", "tanh", "sigmoid", "gelu"};
  static const char* losses[] = {"cross_entropy", "bce_with_logits", "mse", "l1"};
  std::string s = "sizes";
  for (int w : c.sizes) s += " " + std::to_string(w);
  char rest[200];
  std::snprintf(rest, sizeof rest, ", B %d, %s, %s, dropout %g, %s%s%s, density %g", c.B, activations[(int)c.activation],
                losses[(int)c.loss], c.dropout, c.float_features ? "floats" : "pixels",
                c.transform ? ", transform" : "", c.weights ? ", class weights" : "", c.density);
  return s + rest;
}

}  // namespace

int main() {
  const Activation relu = Activation::kRelu;
  const Loss ce = Loss::kCrossEntropy;
  const std::vector<Case> cases = {
      {{1, 1, 1}, 1, relu, ce, 0, false, false, false, 0.9},
      {{7, 7, 3}, 7, relu, ce, 0, false, false, false, 0.2},
      {{129, 127, 10}, 33, relu, ce, 0, false, false, false, 0.2},
      {{129, 127, 10}, 33, relu, ce, 0, false, false, false, 0.9},
      {{127, 129, 7, 5}, 129, Activation::kGelu, ce, 0, false, false, false, 0.2},
      {{127, 129, 7, 5}, 129, Activation::kGelu, ce, 0, false, false, false, 0.9},
      {{64, 129, 65, 4}, 31, Activation::kTanh, ce, 0.3, false, false, false, 0.2},
      {{64, 129, 65, 4}, 31, Activation::kSigmoid, ce, 0.3, false, false, false, 0.9},
      {{20, 30, 3}, 16, Activation::kLeakyRelu, Loss::kMse, 0, true, false, false, 0.9},
      {{20, 30, 3}, 16, Activation::kSigmoid, Loss::kBceWithLogits, 0, true, false, false, 0.2},
      {{20, 30, 3}, 16, relu, Loss::kL1, 0, true, true, false, 0.2},
      {{129, 30, 3}, 16, relu, ce, 0, false, true, true, 0.2},
      {{129, 30, 3}, 16, relu, ce, 0, false, true, false, 0.9},
      {{50, 4}, 9, relu, ce, 0, true, true, false, 0.2},
  };
  std::printf("core_test: gemm %s, %d floats per sparse tile vector\n", fcnet::gemm_backend_name(),
              fcnet::tile_vector_floats());
  for (const Case& c : cases) {
    const std::string name = describe(c);
    const int before = failures;
    const Run one = train(c, 1, false), three = train(c, 3, false), ref = train(c, 1, true);
    const int64_t sparse = c.density < 0.5 ? 3 : 0;
    if (one.sparse_steps != sparse)
      fail(name, "took the sparse first layer " + std::to_string(one.sparse_steps) + " times, expected " +
                     std::to_string(sparse));
    if (ref.sparse_steps != 0) fail(name, "the reference took the sparse first layer");
    same_bits(name, "params", one.params, three.params);
    same_bits(name, "grads", one.grads, three.grads);
    same_bits(name, "m", one.m, three.m);
    same_bits(name, "v", one.v, three.v);
    same_bits(name, "gradients", one.gradients, three.gradients);
    same_bits(name, "logits", one.logits, three.logits);
    if (one.losses != three.losses || one.loss != three.loss) fail(name, "losses differ between 1 and 3 threads");
    // Summation orders differ from the reference's: close, not equal (the jest test's tolerances and reasons).
    all_close(name, "gradients", one.gradients, ref.gradients, 1e-4, 1e-6);
    all_close(name, "logits", one.logits, ref.logits, 1e-4, 1e-6);
    all_close(name, "losses", one.losses, ref.losses, 1e-5, 1e-6);
    all_close(name, "loss", std::vector<double>{one.loss}, std::vector<double>{ref.loss}, 1e-5, 1e-6);
    if (!std::isfinite(one.loss)) fail(name, "the loss is not finite");
    std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", name.c_str());
  }
  std::printf("core_test: %zu cases, %d failures\n", cases.size(), failures);
  return failures == 0 ? 0 : 1;
}
