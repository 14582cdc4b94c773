#pragma once
// A fixed pool of worker threads for data-parallel loops on the CPU backend.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace m3 {

class ThreadPool {
 public:
  // num_threads <= 0 means one per hardware thread.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls body(begin, end) on disjoint chunks covering [0, count); the caller's thread takes part.
  // Returns when every chunk is done. Not reentrant: body must not call parallel_for.
  void parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& body);

 private:
  void worker_loop(int worker_index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t count_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

// The process-wide pool used by CPU kernels (sized to the hardware, created on first use).
ThreadPool& default_thread_pool();

// default_thread_pool().parallel_for when the loop is big enough to gain from splitting; work is
// a rough count of its multiply-adds. Small loops run inline on the caller's thread, because
// waking the workers costs more than they save (and far more on a loaded machine).
inline void parallel_for_if_worth(int64_t count, int64_t work,
                                  const std::function<void(int64_t, int64_t)>& body) {
  constexpr int64_t kMinParallelWork = int64_t(1) << 17;
  if (work < kMinParallelWork) {
    if (count > 0) body(0, count);
    return;
  }
  default_thread_pool().parallel_for(count, body);
}

}  // namespace m3
