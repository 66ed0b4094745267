// Adam for the CUDA kernels: the CPU core's arithmetic (native/adam_math.h), under the names the kernels use,
// so that a step on the GPU updates every value exactly as the CPU backend and torch 1.13 do.
#pragma once

#include "../adam_math.h"

#ifndef FCNET_HOST_DEVICE
#if defined(__CUDACC__)
#define FCNET_HOST_DEVICE __host__ __device__
#else
#define FCNET_HOST_DEVICE
#endif
#endif

using AdamHyper = fcnet::AdamHyper;
using AdamScalars = fcnet::AdamStepConstants;

/** The scalars of 1-based step `step`. */
inline AdamScalars adam_scalars(const AdamHyper& h, double step) { return fcnet::adam_step_constants(h, (int64_t)step); }

/** One Adam update of one value. */
FCNET_HOST_DEVICE inline void adam_update_one(float& p, float& m, float& v, float g, const AdamScalars& s) {
  p = fcnet::adam_value(p, g, m, v, s);
}
