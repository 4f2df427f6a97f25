// Batcher: the callers of one loop iteration answered by one call of a
// batch function (one SQL statement for many rows), because a database pays
// per statement far more than per row.
//
// Per event loop, no timer and no thread: a caller queues its key and its
// fiber suspends; at the end of the iteration (EventLoop::defer) the queued
// keys become a batch, led by its first caller's fiber, which runs the batch
// function (itself suspending on the database) and hands every other caller
// its result. A lone caller is thus a batch of one in the same iteration; at
// most `max_in_flight` batches of a loop run at once, so under load the keys
// that arrive meanwhile wait and the next batch grows.
//
// If the batch function throws, every caller of that batch gets the
// exception. Called outside a fiber (a tool, a test), a key is a batch of one
// run at once.
//
// The batch function runs with its leader's arrival as the start of its wait
// (WaitingSince): the leader is the batch's earliest caller, so a database
// deadline counted from there also bounds every other caller's time in this
// queue -- a batch that starts after it has passed fails at once.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "common/waiting_since.hpp"

namespace common {

template <typename Key, typename Result>
class Batcher {
 public:
  // Returns one result per key, in the keys' order.
  using BatchFunction = std::function<std::vector<Result>(const std::vector<Key>&)>;

  explicit Batcher(BatchFunction run_batch, int max_in_flight = 2, std::size_t max_batch = 64)
      : run_batch_(std::move(run_batch)),
        max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight),
        max_batch_(max_batch < 1 ? 1 : max_batch) {}
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Suspends the calling fiber until this key's batch has run; returns its
  // result or rethrows the batch's exception.
  Result submit(Key key) {
    EventLoop* loop = EventLoop::current();
    if (!loop || !Fiber::current()) return run_checked({std::move(key)}).front();
    auto& queue = loop->local<Queue>(owner_);
    Waiter self{std::move(key)};
    queue.pending.push_back(&self);
    schedule(*loop, queue);
    self.turn.wait();
    if (self.leads) lead(*loop, self);
    if (self.error) std::rethrow_exception(self.error);
    return std::move(*self.result);
  }

  // Batches run so far on the calling loop and the keys they held (tests, metrics).
  std::size_t batches() const { return stats().batches; }
  std::size_t keys() const { return stats().keys; }

 private:
  struct Waiter {
    explicit Waiter(Key k) : key(std::move(k)) {}
    Key key;
    WaitingSince::Clock::time_point arrived = WaitingSince::Clock::now();
    Wait turn;  // notified to lead, or with the result
    bool leads = false;
    std::vector<Waiter*> batch;  // the leader's
    std::optional<Result> result;
    std::exception_ptr error;
  };
  struct Queue {
    std::deque<Waiter*> pending;
    int running = 0;
    bool scheduled = false;
    std::size_t batches = 0;
    std::size_t keys = 0;
    // The loop is stopping: whoever still waits to lead is told, not left.
    ~Queue() {
      auto error = std::make_exception_ptr(std::runtime_error("the event loop is stopping"));
      for (Waiter* waiter : pending) {
        waiter->error = error;
        waiter->turn.notify();
      }
    }
  };

  const Queue& stats() const {
    static const Queue none;
    EventLoop* loop = EventLoop::current();
    return loop && !loop->stopping() ? loop->local<Queue>(owner_) : none;
  }

  std::vector<Result> run_checked(const std::vector<Key>& keys) {
    auto results = run_batch_(keys);
    if (results.size() != keys.size()) {
      throw std::logic_error("batch function returned a wrong number of results");
    }
    return results;
  }

  void schedule(EventLoop& loop, Queue& queue) {
    if (queue.scheduled || queue.pending.empty()) return;
    queue.scheduled = true;
    loop.defer([this, &loop] { start_batches(loop); });
  }

  // End of the iteration: what is queued goes out, as far as the cap allows.
  void start_batches(EventLoop& loop) {
    if (loop.stopping()) return;
    auto& queue = loop.local<Queue>(owner_);
    queue.scheduled = false;
    while (!queue.pending.empty() && queue.running < max_in_flight_) {
      Waiter* leader = queue.pending.front();
      while (leader->batch.size() < max_batch_ && !queue.pending.empty()) {
        leader->batch.push_back(queue.pending.front());
        queue.pending.pop_front();
      }
      ++queue.running;
      ++queue.batches;
      queue.keys += leader->batch.size();
      leader->leads = true;
      leader->turn.notify();
    }
  }

  void lead(EventLoop& loop, Waiter& self) {
    std::vector<Key> keys;
    keys.reserve(self.batch.size());
    for (Waiter* waiter : self.batch) keys.push_back(waiter->key);
    std::vector<Result> results;
    std::exception_ptr error;
    try {
      WaitingSince since(self.arrived);
      results = run_checked(keys);
    } catch (...) {
      error = std::current_exception();
    }
    for (std::size_t i = 0; i < self.batch.size(); ++i) {
      Waiter* waiter = self.batch[i];
      if (error) {
        waiter->error = error;
      } else {
        waiter->result.emplace(std::move(results[i]));
      }
      if (waiter != &self) waiter->turn.notify();
    }
    if (loop.stopping()) return;
    auto& queue = loop.local<Queue>(owner_);
    --queue.running;
    schedule(loop, queue);
  }

  const std::uint64_t owner_ = EventLoop::new_owner();
  BatchFunction run_batch_;
  const int max_in_flight_;
  const std::size_t max_batch_;
};

}  // namespace common
