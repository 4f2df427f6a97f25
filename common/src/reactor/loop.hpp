// Internal: the event loops, one per reactor thread of Pistache's
// Aio::Reactor. Each Loop is the reactor's handler on its thread: the reactor
// polls, the Loop dispatches to the callbacks its owners registered, then
// runs the fibers and deferred tasks of the iteration (event_loop.hpp).
#pragma once

#include <pistache/reactor.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/event_loop.hpp"
#include "reactor/fiber_impl.hpp"

namespace common::reactor {

class Loop final : public Pistache::Aio::Handler, public EventLoop {
 public:
  Loop(int index, std::shared_ptr<std::atomic<int>> clones);
  ~Loop() override;

  // Pistache::Aio::Handler: one clone per reactor thread.
  std::shared_ptr<Pistache::Aio::Handler> clone() const override;
  void registerPoller(Pistache::Polling::Epoll& poller) override;
  void onReady(const Pistache::Aio::FdSet& fds) override;

  // EventLoop
  int index() const override { return index_; }
  void watch(int fd, bool readable, bool writable, FdCallback callback) override;
  void rewatch(int fd, bool readable, bool writable) override;
  void unwatch(int fd) override;
  void defer(Task task) override;
  void post(Task task) override;
  TimerId after(std::chrono::milliseconds delay, Task task) override;
  void cancel(TimerId timer) override;
  void spawn(Task body) override;
  void wake(Fiber* fiber) override;

  // Runs the woken fibers and deferred tasks until none are left.
  void settle();
  // On the loop, before it stops: what owners keep here goes (their
  // connections close, their waiting fibers are told), then the fibers run
  // to their end.
  void release_locals() {
    clear_locals();
    settle();
  }

 private:
  using Clock = std::chrono::steady_clock;
  void dispatch(int fd, std::uint32_t events);
  void control(int operation, int fd, std::uint32_t events);
  void run_posted();
  void run_timers();
  void arm_timer();

  int index_;
  std::shared_ptr<std::atomic<int>> clones_;  // hands out the clones' indexes
  int inner_fd_ = -1;                         // the loop's own epoll set, watched by the reactor
  int wake_fd_ = -1;                          // eventfd: post() from other threads
  int timer_fd_ = -1;                         // timerfd: the earliest timer
  std::vector<std::shared_ptr<FdCallback>> watches_;  // by descriptor
  std::vector<FiberImpl*> ready_;
  std::vector<Task> deferred_;
  std::mutex posted_mutex_;
  std::vector<Task> posted_;
  bool wake_pending_ = false;  // under posted_mutex_
  std::multimap<Clock::time_point, std::pair<TimerId, Task>> timers_;
  std::unordered_map<TimerId, decltype(timers_)::iterator> timer_index_;
  TimerId next_timer_ = 1;
  Clock::time_point armed_for_{};
};

// The reactor and its loops: made, started, stopped together.
class Reactors {
 public:
  explicit Reactors(int threads);
  ~Reactors();
  Reactors(const Reactors&) = delete;
  Reactors& operator=(const Reactors&) = delete;

  // Valid from construction; set-up from this thread before start() only.
  const std::vector<Loop*>& loops() const { return loops_; }
  void start();
  // Runs `task` on every loop and waits until each has (not from a loop).
  void run_on_each(const std::function<void(Loop&)>& task);
  void stop();

 private:
  std::shared_ptr<Pistache::Aio::Reactor> reactor_;
  std::vector<std::shared_ptr<Pistache::Aio::Handler>> handlers_;
  std::vector<Loop*> loops_;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace common::reactor
