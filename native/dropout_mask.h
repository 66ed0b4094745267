// Dropout's keep/drop decision from a counter-based hash, so every backend and any thread count draw the same
// mask (lib/network.ts holds the same function): u = lowbias32(seed ^ lowbias32(step ^ lowbias32(layer ^
// lowbias32(index)))), keep when (u >> 8) · 2⁻²⁴ >= p. index = row·O + unit; layer counts hidden layers from 0.
#pragma once

#include <cstdint>

namespace fcnet {

// Chris Wellons's lowbias32 integer hash.
inline uint32_t lowbias32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// p in double, as JavaScript compares it: (u >> 8) · 2⁻²⁴ is exact in both.
inline bool dropout_keep(uint32_t seed, uint32_t step, uint32_t layer, uint32_t index, double p) {
  const uint32_t u = lowbias32(seed ^ lowbias32(step ^ lowbias32(layer ^ lowbias32(index))));
  return (double)(u >> 8) * (1.0 / 16777216.0) >= p;
}

}  // namespace fcnet
