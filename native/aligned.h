// Vectors whose storage starts on a 64-byte cache line: matrices whose rows two threads write side by side (each
// its own chunks of columns) must not share a line at the seam, or the line moves between the cores at every row
// (measured: Adam on fc1 on two threads took longer than on one).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace fcnet {

template <typename T>
struct CacheAligned {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheAligned() = default;
  template <typename U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const CacheAligned<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheAligned<U>&) const { return false; }
};

using AlignedFloats = std::vector<float, CacheAligned<float>>;

}  // namespace fcnet
