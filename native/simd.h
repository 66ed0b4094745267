// Hot loops are compiled for several x86-64 levels and the best one is picked at load time, so one
// binary (a prebuild too) runs everywhere and still uses AVX2/FMA or AVX-512 where the CPU has them.
// Also the loops' one other hint to the CPU: which lines they will read next.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FCNET_NO_CLONES)
#define FCNET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FCNET_CLONES
#endif

namespace fcnet {

// Asks for every cache line of [p, p + bytes): a hint, which never faults and changes no result.
inline void prefetch_bytes(const void* p, size_t bytes) {
  const uintptr_t start = reinterpret_cast<uintptr_t>(p), end = start + bytes;
  for (uintptr_t at = start & ~(uintptr_t)63; at < end; at += 64) __builtin_prefetch(reinterpret_cast<const void*>(at));
}

}  // namespace fcnet
