// common::Batcher: leader/follower batching with no timer; every waiter gets
// its own result or its batch's exception, and none is left blocked.
#include "common/batcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using IntBatcher = common::Batcher<int, int>;

// Blocks the batch function's first call until opened, so the test can queue
// callers behind a busy "connection".
class Latch {
 public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    opened_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

std::vector<int> doubled(const std::vector<int>& keys) {
  std::vector<int> out;
  for (int key : keys) out.push_back(key * 2);
  return out;
}

void wait_until(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "condition never held";
    std::this_thread::sleep_for(1ms);
  }
}

// A batch function that records each batch's size and holds the first batch
// until opened: callers queue behind a busy "connection".
class HeldFirstBatch {
 public:
  IntBatcher::BatchFunction function() {
    return [this](const std::vector<int>& keys) {
      bool first;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        first = sizes_.empty();
        sizes_.push_back(keys.size());
      }
      if (first) first_batch.wait();
      return doubled(keys);
    };
  }
  std::vector<std::size_t> sizes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return sizes_;
  }
  Latch first_batch;

 private:
  std::mutex mutex_;
  std::vector<std::size_t> sizes_;
};

// Callers submitting 0..count-1, returned once all of them wait in the queue.
std::vector<std::future<int>> queue_callers(IntBatcher& batcher, int count) {
  std::vector<std::future<int>> callers;
  for (int i = 0; i < count; ++i) {
    callers.push_back(std::async(std::launch::async, [&batcher, i] { return batcher.submit(i); }));
  }
  wait_until([&] { return batcher.queued() == static_cast<std::size_t>(count); });
  return callers;
}

TEST(Batcher, LoneCaller_RunsAtOnceAsABatchOfOne) {
  std::vector<std::size_t> sizes;
  IntBatcher batcher(
      [&](const std::vector<int>& keys) {
        sizes.push_back(keys.size());
        return doubled(keys);
      },
      4);
  EXPECT_EQ(batcher.submit(21), 42);
  EXPECT_EQ(batcher.submit(5), 10);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 1}));
}

TEST(Batcher, CallersQueuedWhileEveryConnectionIsBusy_ShareOneBatch) {
  HeldFirstBatch held;
  IntBatcher batcher(held.function(), 1);
  auto leader = std::async(std::launch::async, [&] { return batcher.submit(1000); });
  wait_until([&] { return batcher.batches() == 1; });
  constexpr int kFollowers = 20;
  auto followers = queue_callers(batcher, kFollowers);
  held.first_batch.open();
  EXPECT_EQ(leader.get(), 2000);
  for (int i = 0; i < kFollowers; ++i) EXPECT_EQ(followers[i].get(), i * 2);
  EXPECT_EQ(held.sizes(), (std::vector<std::size_t>{1, kFollowers}));
}

TEST(Batcher, BatchThrows_EveryWaiterOfThatBatchGetsTheException) {
  Latch first_batch;
  std::atomic<int> calls{0};
  IntBatcher batcher(
      [&](const std::vector<int>& keys) -> std::vector<int> {
        if (calls.fetch_add(1) == 0) {
          first_batch.wait();
          return doubled(keys);
        }
        throw std::runtime_error("database unavailable");
      },
      1);
  auto leader = std::async(std::launch::async, [&] { return batcher.submit(1); });
  wait_until([&] { return calls.load() == 1; });
  auto followers = queue_callers(batcher, 8);
  first_batch.open();
  EXPECT_EQ(leader.get(), 2);
  for (auto& follower : followers) EXPECT_THROW(follower.get(), std::runtime_error);
  EXPECT_EQ(calls.load(), 2);
  // The batcher still serves after a failed batch.
  EXPECT_THROW(batcher.submit(3), std::runtime_error);
}

TEST(Batcher, WrongNumberOfResults_FailsTheBatchInsteadOfGuessing) {
  IntBatcher batcher([](const std::vector<int>&) { return std::vector<int>{}; }, 1);
  EXPECT_THROW(batcher.submit(1), std::logic_error);
}

TEST(Batcher, MoreQueuedThanTheCap_SplitIntoBatchesAndNoWaiterLeftBlocked) {
  HeldFirstBatch held;
  IntBatcher batcher(held.function(), 1, 4);
  auto leader = std::async(std::launch::async, [&] { return batcher.submit(-1); });
  wait_until([&] { return batcher.batches() == 1; });
  auto followers = queue_callers(batcher, 10);
  held.first_batch.open();
  EXPECT_EQ(leader.get(), -2);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(followers[i].get(), i * 2);
  EXPECT_EQ(held.sizes(), (std::vector<std::size_t>{1, 4, 4, 2}));
}

TEST(Batcher, ManyThreadsWithFailingBatches_EachGetsItsOwnAnswerAndInFlightStaysBounded) {
  constexpr int kMaxInFlight = 2;
  std::atomic<int> running{0};
  std::atomic<int> most_running{0};
  std::atomic<int> batch_number{0};
  IntBatcher batcher(
      [&](const std::vector<int>& keys) {
        int now = running.fetch_add(1) + 1;
        int seen = most_running.load();
        while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(50us);
        running.fetch_sub(1);
        if (batch_number.fetch_add(1) % 7 == 3) throw std::runtime_error("batch failed");
        return doubled(keys);
      },
      kMaxInFlight, 8);
  constexpr int kThreads = 32;
  constexpr int kCalls = 200;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        int key = t * kCalls + i;
        try {
          if (batcher.submit(key) != key * 2) wrong.fetch_add(1);
        } catch (const std::runtime_error&) {
        }
        answered.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(answered.load(), kThreads * kCalls);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(most_running.load(), kMaxInFlight);
  EXPECT_EQ(batcher.keys(), static_cast<std::size_t>(kThreads * kCalls));
  EXPECT_EQ(batcher.queued(), 0u);
}

}  // namespace
