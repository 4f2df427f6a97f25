// The loops on Pistache's reactor.
#include "reactor/loop.hpp"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>
#include <system_error>
#include <unordered_set>

namespace common::reactor {
namespace {

using Pistache::Polling::NotifyOn;

// A task's exception is logged, never let through to the reactor (which
// would end the process).
void run_guarded(const EventLoop::Task& task, const char* what) {
  try {
    task();
  } catch (const std::exception& error) {
    spdlog::error("{} failed: {}", what, error.what());
  } catch (...) {
    spdlog::error("{} failed with a non-standard exception", what);
  }
}

thread_local Loop* this_thread_loop = nullptr;

// The loops that run, for post_if_running.
std::mutex running_mutex;
std::unordered_set<const EventLoop*> running_loops;

constexpr int kPollsWithoutWaiting = 4;

Pistache::Flags<NotifyOn> interest(bool readable, bool writable) {
  Pistache::Flags<NotifyOn> flags;
  if (readable) flags.setFlag(NotifyOn::Read);
  if (writable) flags.setFlag(NotifyOn::Write);
  return flags;
}

}  // namespace

Loop::Loop(int index, std::shared_ptr<std::atomic<int>> clones)
    : index_(index), clones_(std::move(clones)) {}

Loop::~Loop() {
  {
    std::lock_guard<std::mutex> lock(running_mutex);
    running_loops.erase(this);
  }
  clear_locals();
  if (inner_fd_ >= 0) ::close(inner_fd_);
  inner_fd_ = -1;
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

std::shared_ptr<Pistache::Aio::Handler> Loop::clone() const {
  return std::make_shared<Loop>(clones_->fetch_add(1), clones_);
}

void Loop::registerPoller(Pistache::Polling::Epoll& poller) {
  // The loop's descriptors live in an epoll set of its own, which the
  // reactor's poller watches as one descriptor: the loop can then look at
  // them again without waiting (onReady), and never sees or consumes the
  // reactor's own (its shutdown notification is edge-triggered).
  inner_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (inner_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0) {
    throw std::runtime_error("cannot create the loop's descriptors");
  }
  control(EPOLL_CTL_ADD, wake_fd_, EPOLLIN);
  control(EPOLL_CTL_ADD, timer_fd_, EPOLLIN);
  poller.addFd(inner_fd_, interest(true, false), Pistache::Polling::Tag(inner_fd_));
  std::lock_guard<std::mutex> lock(running_mutex);
  running_loops.insert(this);
}

void Loop::control(int operation, int fd, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.fd = fd;
  if (::epoll_ctl(inner_fd_, operation, fd, &event) != 0 && operation != EPOLL_CTL_DEL) {
    throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  }
}

void Loop::watch(int fd, bool readable, bool writable, FdCallback callback) {
  if (fd < 0) throw std::invalid_argument("watch: bad descriptor");
  auto index = static_cast<std::size_t>(fd);
  if (watches_.size() <= index) watches_.resize(index + 1);
  watches_[index] = std::make_shared<FdCallback>(std::move(callback));
  control(EPOLL_CTL_ADD, fd, (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u));
}

void Loop::rewatch(int fd, bool readable, bool writable) {
  if (inner_fd_ < 0) return;
  control(EPOLL_CTL_MOD, fd, (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u));
}

void Loop::unwatch(int fd) {
  auto index = static_cast<std::size_t>(fd);
  if (index < watches_.size()) watches_[index].reset();
  if (inner_fd_ >= 0) control(EPOLL_CTL_DEL, fd, 0);  // fails harmlessly if already closed
}

void Loop::defer(Task task) {
  deferred_.push_back(std::move(task));
}

void Loop::post(Task task) {
  bool signal = false;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    posted_.push_back(std::move(task));
    signal = !wake_pending_;
    wake_pending_ = true;
  }
  if (signal) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
  }
}

EventLoop::TimerId Loop::after(std::chrono::milliseconds delay, Task task) {
  TimerId id = next_timer_++;
  auto it = timers_.emplace(Clock::now() + delay, std::make_pair(id, std::move(task)));
  timer_index_.emplace(id, it);
  if (this_thread_loop != this) arm_timer();  // set up from outside an iteration
  return id;
}

void Loop::cancel(TimerId timer) {
  auto it = timer_index_.find(timer);
  if (it == timer_index_.end()) return;
  timers_.erase(it->second);
  timer_index_.erase(it);
}

void Loop::spawn(Task body) {
  auto* fiber = new FiberImpl(this, std::move(body));
  if (Fiber::current()) {  // switches never nest: it starts after this one suspends
    wake(fiber);
    return;
  }
  if (fiber->resume()) delete fiber;
}

void Loop::wake(Fiber* fiber) {
  auto* impl = static_cast<FiberImpl*>(fiber);
  if (impl->queued) return;
  impl->queued = true;
  ready_.push_back(impl);
}

void Loop::settle() {
  std::vector<FiberImpl*> running;
  std::vector<Task> tasks;
  for (;;) {
    while (!ready_.empty()) {
      running.swap(ready_);
      for (auto* fiber : running) {
        fiber->queued = false;
        if (fiber->resume()) delete fiber;
      }
      running.clear();
    }
    if (deferred_.empty()) return;
    tasks.swap(deferred_);
    for (auto& task : tasks) run_guarded(task, "a deferred task");
    tasks.clear();
  }
}

void Loop::run_posted() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto got = ::read(wake_fd_, &count, sizeof count);
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mutex_);
    tasks.swap(posted_);
    wake_pending_ = false;
  }
  for (auto& task : tasks) run_guarded(task, "a posted task");
}

void Loop::run_timers() {
  std::uint64_t expirations = 0;
  [[maybe_unused]] auto got = ::read(timer_fd_, &expirations, sizeof expirations);
  armed_for_ = {};
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_index_.erase(node.mapped().first);
    run_guarded(node.mapped().second, "a timer");
  }
}

void Loop::arm_timer() {
  if (timers_.empty()) return;
  auto earliest = timers_.begin()->first;
  if (armed_for_ != Clock::time_point{} && armed_for_ <= earliest) return;
  auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(earliest - Clock::now());
  if (wait.count() < 1000) wait = std::chrono::nanoseconds(1000);  // 0 would disarm it
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(wait.count() / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(wait.count() % 1000000000);
  ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
  armed_for_ = earliest;
}

void Loop::dispatch(int fd, std::uint32_t events) {
  if (fd == wake_fd_) {
    run_posted();
    return;
  }
  if (fd == timer_fd_) {
    run_timers();
    return;
  }
  auto index = static_cast<std::size_t>(fd);
  if (index >= watches_.size() || !watches_[index]) return;  // not ours, or unwatched
  auto callback = watches_[index];                           // it may unwatch itself
  try {
    (*callback)(events);
  } catch (const std::exception& error) {
    spdlog::error("event handler failed: {}", error.what());
  }
}

void Loop::onReady(const Pistache::Aio::FdSet&) {
  this_thread_loop = this;
  // The first look finds what woke the reactor. Under load, more is ready by
  // the time an iteration ends: looking again without waiting (a few times
  // at most) serves it now instead of putting the thread to sleep in the
  // reactor's poll only to wake it right away -- a context switch saved per
  // iteration. Idle, it costs one more epoll_wait.
  epoll_event events[256];
  for (int look = 0; look <= kPollsWithoutWaiting; ++look) {
    int ready = ::epoll_wait(inner_fd_, events, 256, 0);
    if (ready <= 0) break;
    for (int i = 0; i < ready; ++i) {
      std::uint32_t bits = events[i].events;
      std::uint32_t mapped = 0;
      if (bits & EPOLLIN) mapped |= kReadable;
      if (bits & EPOLLOUT) mapped |= kWritable;
      if (bits & (EPOLLERR | EPOLLHUP)) mapped |= kError;
      dispatch(events[i].data.fd, mapped);
    }
    settle();
  }
  settle();
  arm_timer();
}

Reactors::Reactors(int threads) : reactor_(Pistache::Aio::Reactor::create()) {
  reactor_->init(Pistache::Aio::AsyncContext(static_cast<std::size_t>(threads), "users-loop"));
  auto prototype = std::make_shared<Loop>(-1, std::make_shared<std::atomic<int>>(0));
  auto key = reactor_->addHandler(prototype);
  handlers_ = reactor_->handlers(key);
  for (auto& handler : handlers_) loops_.push_back(static_cast<Loop*>(handler.get()));
}

Reactors::~Reactors() {
  stop();
}

void Reactors::start() {
  started_ = true;
  reactor_->run();
}

void Reactors::run_on_each(const std::function<void(Loop&)>& task) {
  if (!started_ || stopped_) return;
  std::vector<std::future<void>> done;
  for (auto* loop : loops_) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    loop->post([loop, &task, promise] {
      try {
        task(*loop);
        loop->settle();
      } catch (const std::exception& error) {
        spdlog::error("loop task failed: {}", error.what());
      }
      promise->set_value();
    });
  }
  for (auto& each : done) each.wait();
}

void Reactors::stop() {
  if (stopped_) return;
  run_on_each([](Loop& loop) { loop.release_locals(); });
  stopped_ = true;
  if (started_) reactor_->shutdown();
  // Joins the threads (the reactor's workers join when destroyed).
  reactor_.reset();
  handlers_.clear();
  loops_.clear();
}

}  // namespace common::reactor

namespace common {

EventLoop* EventLoop::current() {
  return reactor::this_thread_loop;
}

bool EventLoop::post_if_running(EventLoop* loop, Task task) {
  std::lock_guard<std::mutex> lock(reactor::running_mutex);
  if (!reactor::running_loops.count(loop)) return false;
  loop->post(std::move(task));
  return true;
}

std::uint64_t EventLoop::new_owner() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1);
}

}  // namespace common
