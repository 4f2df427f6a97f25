// The event loop of one reactor thread, as the rest of the service sees it.
// Every connection, every database connection and every fiber belongs to
// exactly one loop and is only ever touched on that loop's thread, so none
// of them needs a lock. The loops run on Pistache's reactor (one handler
// clone per thread); this interface keeps Pistache out of sight.
//
// One iteration: the ready descriptors' callbacks run, then the fibers they
// woke, then the deferred tasks (where the database batches are sent), then
// again the fibers those woke, until nothing is left to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <typeindex>
#include <unordered_map>

namespace common {

class Fiber;

class EventLoop {
 public:
  // Bits of the events a descriptor callback gets (EPOLLIN, EPOLLOUT, EPOLLERR|EPOLLHUP).
  static constexpr std::uint32_t kReadable = 0x001;
  static constexpr std::uint32_t kWritable = 0x004;
  static constexpr std::uint32_t kError = 0x008 | 0x010;

  using FdCallback = std::function<void(std::uint32_t events)>;
  using Task = std::function<void()>;
  using TimerId = std::uint64_t;

  virtual ~EventLoop() = default;

  // The loop of the calling thread; nullptr off the reactors.
  static EventLoop* current();
  virtual int index() const = 0;

  // Level-triggered interest in a non-blocking descriptor. The callback runs
  // on this loop; it may unwatch its own descriptor.
  virtual void watch(int fd, bool readable, bool writable, FdCallback callback) = 0;
  virtual void rewatch(int fd, bool readable, bool writable) = 0;
  virtual void unwatch(int fd) = 0;

  // Runs `task` once, later in this iteration, after the woken fibers.
  virtual void defer(Task task) = 0;
  // Any thread: runs `task` on this loop as soon as it can.
  virtual void post(Task task) = 0;
  // Any thread: post() if `loop` still runs; false (and nothing done) once it
  // has stopped -- for a thread that may outlive the loop that gave it work.
  static bool post_if_running(EventLoop* loop, Task task);
  // Runs `task` once after `delay` (coarse: a few milliseconds late at most).
  virtual TimerId after(std::chrono::milliseconds delay, Task task) = 0;
  virtual void cancel(TimerId timer) = 0;

  // Starts `body` as a fiber now; it runs until it first suspends. Throws
  // std::bad_alloc when no fiber can be had (the stacks' bound is reached).
  virtual void spawn(Task body) = 0;
  // Schedules a suspended fiber of this loop to resume in this iteration.
  virtual void wake(Fiber* fiber) = 0;

  // A key for local(), never handed out twice: an owner made later at the
  // address of a destroyed one must not find that one's state.
  static std::uint64_t new_owner();
  bool stopping() const { return locals_closed_; }

  // State one owner keeps per loop (a batcher's queue, a database's
  // connections), made on first use with T's default constructor.
  template <typename T>
  T& local(std::uint64_t owner) {
    if (locals_closed_) throw std::runtime_error("the event loop is stopping");
    auto& slot = locals_[Key{owner, std::type_index(typeid(T))}];
    if (!slot) slot = std::shared_ptr<void>(new T(), [](void* p) { delete static_cast<T*>(p); });
    return *static_cast<T*>(slot.get());
  }

 protected:
  // Before the loop's own members go: what an owner keeps may still wake fibers.
  void clear_locals() {
    locals_closed_ = true;
    auto gone = std::move(locals_);
    locals_.clear();
    gone.clear();
  }

 private:
  struct Key {
    std::uint64_t owner;
    std::type_index type;
    bool operator==(const Key& other) const { return owner == other.owner && type == other.type; }
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const {
      return std::hash<std::uint64_t>()(key.owner) ^ key.type.hash_code();
    }
  };
  std::unordered_map<Key, std::shared_ptr<void>, KeyHash> locals_;
  bool locals_closed_ = false;
};

// A stackful coroutine on a loop: route code runs in one and reads top to
// bottom; where it waits (the database, a slow client, a password hash) only
// the fiber suspends, never the thread.
class Fiber {
 public:
  // The running fiber; nullptr outside one.
  static Fiber* current();
  // Suspends the running fiber until someone wakes it (EventLoop::wake).
  static void suspend();

  EventLoop& loop() const { return *loop_; }

 protected:
  explicit Fiber(EventLoop* loop) : loop_(loop) {}
  ~Fiber() = default;

 private:
  EventLoop* loop_;
};

// One fiber waiting for one thing to happen on its loop: notify() may come
// before wait() (then wait() returns at once) and at most wakes it once.
class Wait {
 public:
  void wait() {
    fiber_ = Fiber::current();
    while (!done_) Fiber::suspend();
    fiber_ = nullptr;
  }
  void notify() {
    done_ = true;
    if (fiber_) fiber_->loop().wake(fiber_);
  }
  bool done() const { return done_; }

 private:
  Fiber* fiber_ = nullptr;
  bool done_ = false;
};

// Waits `delay`: in a fiber, only the fiber (a timer of its loop wakes it);
// elsewhere, the thread.
void sleep_for(std::chrono::milliseconds delay);

// Runs slow CPU work (Argon2) on the small bounded pool of the process while
// the calling fiber waits; inline when not called from a fiber.
void run_off_loop(const std::function<void()>& work);

// Sets the size of that pool (before the first use; default: the CPUs).
void set_off_loop_threads(int threads);

}  // namespace common
