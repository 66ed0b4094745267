// Hot loops are compiled for several x86-64 levels and the best one is picked at load time, so one
// binary (a prebuild too) runs everywhere and still uses AVX2/FMA or AVX-512 where the CPU has them.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FCNET_NO_CLONES)
#define FCNET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FCNET_CLONES
#endif
