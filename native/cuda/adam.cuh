// Adam over the whole flat parameter buffer in one launch (the standalone adamStep; trainBatch fuses the same
// update into the weight-gradient epilogue instead).
#pragma once

#include <cstddef>

#include "adam_math.h"
#include "device_compat.cuh"

/** params, m, v (n) updated in place from grads (n), with this step's scalars. */
void adam_update(float* params, float* m, float* v, const float* grads, size_t n, const AdamScalars& scalars,
                 int multiprocessors, cudaStream_t stream);
