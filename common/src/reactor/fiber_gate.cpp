// A waiter is handed its slot by leave() on another thread (then woken
// through its loop's post) or gives up on its loop's timer: whichever comes
// first under the lock decides.
#include "common/fiber_gate.hpp"

#include <deque>
#include <mutex>

#include "common/event_loop.hpp"

namespace common {

namespace {

enum class Outcome { waiting, admitted, timed_out };

struct Waiter {
  EventLoop* loop;
  Fiber* fiber;
  Outcome outcome = Outcome::waiting;
};

}  // namespace

struct FiberGate::State {
  std::mutex mutex;
  int free = 0;
  std::deque<std::shared_ptr<Waiter>> waiting;
};

FiberGate::FiberGate(int slots) : slots_(slots < 1 ? 1 : slots), state_(std::make_shared<State>()) {
  state_->free = slots_;
}

bool FiberGate::enter(std::chrono::milliseconds limit) {
  Fiber* fiber = Fiber::current();
  std::unique_lock<std::mutex> lock(state_->mutex);
  if (state_->free > 0 && state_->waiting.empty()) {
    --state_->free;
    return true;
  }
  if (!fiber) return false;
  auto waiter = std::make_shared<Waiter>(Waiter{&fiber->loop(), fiber});
  state_->waiting.push_back(waiter);
  lock.unlock();

  EventLoop& loop = fiber->loop();
  auto timer = loop.after(limit, [state = state_, waiter] {
    {
      std::lock_guard<std::mutex> guard(state->mutex);
      if (waiter->outcome != Outcome::waiting) return;
      waiter->outcome = Outcome::timed_out;
      auto& queue = state->waiting;
      for (auto it = queue.begin(); it != queue.end(); ++it) {
        if (*it == waiter) {
          queue.erase(it);
          break;
        }
      }
    }
    waiter->loop->wake(waiter->fiber);
  });
  for (;;) {
    Outcome outcome;
    {
      std::lock_guard<std::mutex> guard(state_->mutex);
      outcome = waiter->outcome;
    }
    if (outcome == Outcome::admitted) {
      loop.cancel(timer);
      return true;
    }
    if (outcome == Outcome::timed_out) return false;
    Fiber::suspend();
  }
}

void FiberGate::leave() {
  std::unique_lock<std::mutex> lock(state_->mutex);
  while (!state_->waiting.empty()) {
    auto waiter = state_->waiting.front();
    state_->waiting.pop_front();
    waiter->outcome = Outcome::admitted;
    lock.unlock();
    if (EventLoop::post_if_running(waiter->loop, [waiter] { waiter->loop->wake(waiter->fiber); })) {
      return;  // the slot is the waiter's now
    }
    lock.lock();  // its loop has stopped: the next one gets the slot
  }
  ++state_->free;
}

}  // namespace common
