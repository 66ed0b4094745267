// The one include for CUDA's names. Built by nvcc it is CUDA itself; built with FCNET_CUDA_EMULATION (g++,
// no GPU) the same kernel and engine sources run on the CPU emulation in emulation/, which is how their
// index math is tested on machines without a GPU.
#pragma once

#ifdef FCNET_CUDA_EMULATION
#include "emulation/cuda_emulation.h"
#else
#include <cuda_runtime.h>
// The block's dynamic shared memory, as floats (its size is the launch's shared_bytes).
#define DYNAMIC_SHARED_FLOATS(name) extern __shared__ __align__(16) float name[]
#endif
