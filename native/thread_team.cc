#include "thread_team.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FCNET_PAUSE() _mm_pause()
#elif defined(__aarch64__)
// ISB, as Rust's core::hint::spin_loop on aarch64: YIELD is a no-op on most arm64 cores, ISB waits a few cycles.
#define FCNET_PAUSE() __asm__ __volatile__("isb" ::: "memory")
#else
#define FCNET_PAUSE() std::this_thread::yield()
#endif

namespace fcnet {

namespace {
constexpr int kSpinsBeforeSleep = 20000;  // ~ 50–100 µs: longer than the gaps between phases of a step
constexpr int kSpinsBeforeYield = 2000;   // ~ 5–10 µs: a phase's imbalance between members is about this
}

ThreadTeam::ThreadTeam(int size) : size_(size < 1 ? 1 : size) {
  try {
    for (int m = 1; m < size_; m++) workers_.emplace_back([this, m] { worker_loop(m); });
  } catch (...) {
    stop_and_join();  // a thread that would not start: the running ones must be joined, or unwinding terminates
    throw;
  }
}

ThreadTeam::~ThreadTeam() { stop_and_join(); }

void ThreadTeam::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadTeam::run(const std::function<void(int, int)>& job) {
  if (size_ == 1) {
    job(0, 1);
    return;
  }
  job_ = &job;
  pending_.store(size_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);  // pairs with the sleepers' wait, so no wake-up is lost
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  job(0, size_);
  // Spin briefly, then give the core away: on a busy machine a spinning caller can keep the very worker it
  // waits for off the CPU.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; spin++) {
    if (spin < kSpinsBeforeYield) FCNET_PAUSE();
    else std::this_thread::yield();
  }
  job_ = nullptr;
}

void ThreadTeam::worker_loop(int member) {
  unsigned seen = 0;
  for (;;) {
    unsigned now = generation_.load(std::memory_order_acquire);
    for (int spin = 0; now == seen && spin < kSpinsBeforeSleep; spin++) {
      if (spin < kSpinsBeforeYield) FCNET_PAUSE();
      else std::this_thread::yield();
      now = generation_.load(std::memory_order_acquire);
    }
    if (now == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      now = generation_.load(std::memory_order_acquire);
    }
    seen = now;
    if (stopping_.load()) return;
    (*job_)(member, size_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace fcnet
