// Internal: the fibers of one loop, over Boost.Context. Only the loop's own
// code switches fibers (resume() from the loop's stack, suspend() from the
// fiber's), so a switch never nests and never crosses threads.
#pragma once

#include <boost/context/fiber.hpp>
#include <cstddef>
#include <functional>
#include <string>

#include "common/event_loop.hpp"

namespace common::reactor {

class FiberImpl final : public Fiber {
 public:
  // Throws std::bad_alloc when no stack can be had (max_fiber_stacks).
  FiberImpl(EventLoop* loop, std::function<void()> body);
  ~FiberImpl();

  // Runs the fiber until it suspends or ends; true once it has ended. Only
  // from the loop's own stack.
  bool resume();
  void suspend_running();
  bool queued = false;  // in the loop's ready list

 private:
  boost::context::fiber context_;  // the fiber, while suspended
  boost::context::fiber back_;     // the loop, while the fiber runs
  std::function<void()> body_;
  bool done_ = false;
  std::string request_id_;  // the log context, kept across switches
  // The sanitizer's view of the stacks (used only under ASan).
  void* stack_bottom_ = nullptr;
  std::size_t stack_size_ = 0;
  void* fake_stack_ = nullptr;
  const void* loop_stack_bottom_ = nullptr;
  std::size_t loop_stack_size_ = 0;
};

// Fibers alive on the calling thread (a loop drains them before it stops).
std::size_t live_fibers();

// Fiber stacks mapped in the process (in use or pooled for reuse) and the
// most there may be: a quarter of vm.max_map_count (two mappings each, half
// the count left for the rest of the process). Beyond it, and whenever the
// kernel refuses a stack or its guard page, making a fiber (FiberImpl,
// EventLoop::spawn) throws std::bad_alloc.
std::size_t max_fiber_stacks();
std::size_t mapped_fiber_stacks();
// For tests: a limit other than the derived one (at least 1).
void set_max_fiber_stacks(std::size_t stacks);

}  // namespace common::reactor
