// At most N holders at once, for fibers on any loop: a fiber that finds no
// free slot waits for one (suspended, its loop runs on) for a bounded time,
// first come first served. What the password hasher bounds its Argon2 jobs
// with, so their memory stays within what was planned for.
#pragma once

#include <chrono>
#include <memory>

namespace common {

class FiberGate {
 public:
  explicit FiberGate(int slots);

  // In a fiber: true once the caller holds a slot, false when `limit` passed
  // first (then it holds none). Outside a fiber: true if a slot is free now.
  bool enter(std::chrono::milliseconds limit);
  // Gives the slot back (to the longest waiter, if any).
  void leave();

  int slots() const { return slots_; }

  struct State;

 private:
  int slots_;
  std::shared_ptr<State> state_;  // shared with the waiters' timers
};

}  // namespace common
