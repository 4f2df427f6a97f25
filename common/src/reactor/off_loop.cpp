// The small bounded pool for slow CPU work (Argon2), so that a loop never
// spends a quarter of a second on one request while its others wait.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/event_loop.hpp"

namespace common {
namespace {

class OffLoopPool {
 public:
  explicit OffLoopPool(int threads) {
    for (int i = 0; i < threads; ++i) {
      std::thread([this] { work(); }).detach();
    }
  }
  void submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !jobs_.empty(); });
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
};

int pool_threads = 0;

OffLoopPool& pool() {
  // Never destroyed: its threads may still be busy when the process exits.
  static auto* instance = new OffLoopPool(
      pool_threads > 0 ? pool_threads
                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return *instance;
}

}  // namespace

void sleep_for(std::chrono::milliseconds delay) {
  Fiber* fiber = Fiber::current();
  if (!fiber) {
    std::this_thread::sleep_for(delay);
    return;
  }
  Wait done;
  fiber->loop().after(delay, [&done] { done.notify(); });
  done.wait();
}

void set_off_loop_threads(int threads) {
  pool_threads = threads;
}

void run_off_loop(const std::function<void()>& work) {
  Fiber* fiber = Fiber::current();
  if (!fiber) {
    work();
    return;
  }
  EventLoop& loop = fiber->loop();
  struct Outcome {
    bool done = false;
    std::exception_ptr error;
  } outcome;
  pool().submit([&work, &outcome, &loop, fiber] {
    std::exception_ptr error;
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    // The loop may have stopped meanwhile (a shutdown past its deadline):
    // then the fiber is never resumed, and nothing touches the loop.
    EventLoop::post_if_running(&loop, [&outcome, &loop, fiber, error] {
      outcome.error = error;
      outcome.done = true;
      loop.wake(fiber);
    });
  });
  while (!outcome.done) Fiber::suspend();
  if (outcome.error) std::rethrow_exception(outcome.error);
}

}  // namespace common
