// A fixed team of threads that run one job together: the caller is member 0, workers are 1..n-1.
// Made for many short phases per training step: workers spin briefly before sleeping, so a phase
// starts in well under a microsecond while training and costs no CPU while the process is idle.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fcnet {

class ThreadTeam {
 public:
  explicit ThreadTeam(int size);
  ~ThreadTeam();
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;

  int size() const { return size_; }
  // Runs job(member, size) on every member, the caller as member 0; returns when all are done.
  void run(const std::function<void(int, int)>& job);

 private:
  void worker_loop(int member);
  void stop_and_join();

  const int size_;
  std::vector<std::thread> workers_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

// The part [begin, end) of n items that member `m` of `size` takes.
inline void split_range(long n, int m, int size, long* begin, long* end) {
  *begin = n * m / size;
  *end = n * (m + 1) / size;
}

}  // namespace fcnet
