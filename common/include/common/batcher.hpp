// Batcher: many concurrent callers' keys answered by one call of a batch
// function (one SQL statement for many rows), because a database pays per
// statement far more than per row.
//
// Leader/follower, no timer: a caller that finds fewer than `max_in_flight`
// batches running (the database pool's size) becomes the leader, takes
// everything queued (up to `max_batch`, its own key included) and runs the
// batch function once on its own thread; the others (followers) just wait for
// their result. A lone caller is thus a batch of one at once, and batches
// only grow while every connection is busy, which is when waiting is free.
//
// If the batch function throws, every caller of that batch gets the
// exception. No caller stays blocked: a batch always ends (the function's own
// waits, such as the pool's bounded acquire, are bounded), and whenever one
// ends or starts with keys left behind, the oldest queued caller is woken to
// lead the next.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace common {

template <typename Key, typename Result>
class Batcher {
 public:
  // Returns one result per key, in the keys' order.
  using BatchFunction = std::function<std::vector<Result>(const std::vector<Key>&)>;

  Batcher(BatchFunction run_batch, int max_in_flight, std::size_t max_batch = 64)
      : run_batch_(std::move(run_batch)),
        max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight),
        max_batch_(max_batch < 1 ? 1 : max_batch) {}
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Blocks until this key's batch has run; returns its result or rethrows the
  // batch's exception.
  Result submit(Key key) {
    Waiter self{std::move(key)};
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&self);
    for (;;) {
      self.wake.wait(lock, [&] { return self.done || (self.queued && running_ < max_in_flight_); });
      if (self.done) break;
      lead(self, lock);
    }
    if (self.error) std::rethrow_exception(self.error);
    return std::move(*self.result);
  }

  // Callers waiting for a leader (for tests and metrics).
  std::size_t queued() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return queue_.size();
  }
  // Batches run so far and the keys they held.
  std::size_t batches() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return batches_;
  }
  std::size_t keys() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return keys_;
  }

 private:
  struct Waiter {
    explicit Waiter(Key k) : key(std::move(k)) {}
    Key key;
    bool queued = true;
    bool done = false;
    std::optional<Result> result;
    std::exception_ptr error;
    std::condition_variable wake;
  };

  // Runs one batch holding `self` and the oldest queued others. Called and
  // returns with `lock` held; the batch function runs without it.
  void lead(Waiter& self, std::unique_lock<std::mutex>& lock) {
    std::vector<Waiter*> batch;
    batch.push_back(&self);
    remove_from_queue(self);
    while (batch.size() < max_batch_ && !queue_.empty()) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    for (Waiter* waiter : batch) waiter->queued = false;
    ++running_;
    ++batches_;
    keys_ += batch.size();
    wake_next_leader();  // keys over the cap: another connection may be free

    std::vector<Result> results;
    std::exception_ptr error;
    lock.unlock();
    try {
      // Read without the lock: a waiter lives until it is done, and its key
      // never changes.
      std::vector<Key> keys;
      keys.reserve(batch.size());
      for (Waiter* waiter : batch) keys.push_back(waiter->key);
      results = run_batch_(keys);
      if (results.size() != keys.size()) {
        throw std::logic_error("batch function returned a wrong number of results");
      }
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();

    --running_;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Waiter* waiter = batch[i];
      if (error) {
        waiter->error = error;
      } else {
        waiter->result.emplace(std::move(results[i]));
      }
      waiter->done = true;
      // Notified under the lock: a follower may return (and destroy its
      // Waiter) as soon as the lock is free.
      if (waiter != &self) waiter->wake.notify_one();
    }
    wake_next_leader();
  }

  void remove_from_queue(Waiter& waiter) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (*it == &waiter) {
        queue_.erase(it);
        return;
      }
    }
  }

  void wake_next_leader() {
    if (!queue_.empty() && running_ < max_in_flight_) queue_.front()->wake.notify_one();
  }

  BatchFunction run_batch_;
  const int max_in_flight_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::deque<Waiter*> queue_;
  int running_ = 0;
  std::size_t batches_ = 0;
  std::size_t keys_ = 0;
};

}  // namespace common
