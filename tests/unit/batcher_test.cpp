// common::Batcher on the event loops: the callers of one loop iteration share
// one batch led by its first caller's fiber; at most max_in_flight batches of
// a loop run at once and the callers that arrive meanwhile form the next one;
// every caller gets its own result or its batch's exception, and none is left
// waiting. The callers are fibers on a LoopRunner's loop; a batch is held "in
// flight" by suspending its leader's fiber on a Wait the test releases.
#include "common/batcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/event_loop.hpp"
#include "common/loop_runner.hpp"
#include "common/waiting_since.hpp"

namespace {

using namespace std::chrono_literals;
using IntBatcher = common::Batcher<int, int>;
using Keys = std::vector<int>;

std::vector<int> doubled(const std::vector<int>& keys) {
  std::vector<int> out;
  for (int key : keys) out.push_back(key * 2);
  return out;
}

Keys range(int first, int count) {
  Keys keys;
  for (int i = 0; i < count; ++i) keys.push_back(first + i);
  return keys;
}

// Runs `body` in a fiber on the runner's loop and waits for it. Callers
// that are never answered abort the binary with a message after a few
// seconds rather than hang it.
void on_loop(common::LoopRunner& runner, const std::function<void(common::EventLoop&)>& body) {
  runner.run([&] {
    auto& loop = *common::EventLoop::current();
    struct Watchdog {
      common::EventLoop& loop;
      common::EventLoop::TimerId timer;
      ~Watchdog() { loop.cancel(timer); }
    } watchdog{loop, loop.after(5s, [] {
                 std::fprintf(stderr, "batcher_test: fibers still waiting after 5 s\n");
                 std::abort();
               })};
    body(loop);
  });
}

// Suspends the calling fiber until a later iteration of its loop: what the
// fibers that are ready and the deferred tasks (a batcher starting its
// batches) would do in this one is done by then.
void until_next_iteration(common::EventLoop& loop) {
  common::Wait later;
  loop.after(0ms, [&later] { later.notify(); });
  later.wait();
}

// One fiber per key, spawned on the running loop (they start once the
// spawning fiber suspends, in key order), each submitting its key; each
// one's result or exception is kept at its index.
class Callers {
 public:
  Callers(IntBatcher& batcher, Keys keys)
      : keys_(std::move(keys)), results_(keys_.size()), errors_(keys_.size()) {
    auto* loop = common::EventLoop::current();
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      loop->spawn([this, &batcher, i] {
        try {
          results_[i] = batcher.submit(keys_[i]);
        } catch (...) {
          errors_[i] = std::current_exception();
        }
        if (++answered_ == keys_.size()) all_.notify();
      });
    }
  }
  // Never gone while one of its fibers still waits (an ASSERT may return early).
  ~Callers() { wait(); }
  Callers(const Callers&) = delete;
  Callers& operator=(const Callers&) = delete;

  // Suspends the calling fiber until every caller has its answer.
  void wait() {
    if (answered_ < keys_.size()) all_.wait();
  }
  std::size_t answered() const { return answered_; }

  // Every caller got twice its key, and no exception.
  void expect_doubled() const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      EXPECT_FALSE(errors_[i]) << "caller " << i;
      EXPECT_EQ(results_[i], keys_[i] * 2) << "caller " << i;
    }
  }
  // Every caller got an exception of type E (and no result), saying `what` if given.
  template <typename E>
  void expect_thrown(const char* what = nullptr) const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      EXPECT_FALSE(results_[i]) << "caller " << i;
      ASSERT_TRUE(errors_[i]) << "caller " << i;
      try {
        std::rethrow_exception(errors_[i]);
      } catch (const E& error) {
        if (what) {
          EXPECT_STREQ(error.what(), what) << "caller " << i;
        }
      } catch (...) {
        ADD_FAILURE() << "caller " << i << " got another exception";
      }
    }
  }

 private:
  Keys keys_;
  std::vector<std::optional<int>> results_;
  std::vector<std::exception_ptr> errors_;
  std::size_t answered_ = 0;
  common::Wait all_;
};

// A batch function that records each batch's keys and how many batches run
// at once. The first `held` batches suspend their leader's fiber (a busy
// database connection) until release(); the batches numbered in `failing`
// throw. One loop only.
class Recorder {
 public:
  explicit Recorder(std::size_t held = 0, std::set<std::size_t> failing = {})
      : started_(held), released_(held), failing_(std::move(failing)) {}

  IntBatcher::BatchFunction function() {
    return [this](const Keys& keys) {
      std::size_t number = batches_.size();
      batches_.push_back(keys);
      ++running_;
      if (running_ > most_running_) most_running_ = running_;
      if (number < released_.size()) {
        started_[number].notify();
        released_[number].wait();
      }
      --running_;
      if (failing_.count(number)) throw std::runtime_error("batch " + std::to_string(number));
      return doubled(keys);
    };
  }
  // Suspends the calling fiber until held batch `number` runs.
  void wait_started(std::size_t number) { started_.at(number).wait(); }
  void release(std::size_t number) { released_.at(number).notify(); }

  const std::vector<Keys>& batches() const { return batches_; }
  std::vector<std::size_t> sizes() const {
    std::vector<std::size_t> sizes;
    for (const auto& batch : batches_) sizes.push_back(batch.size());
    return sizes;
  }
  int most_running() const { return most_running_; }

 private:
  std::vector<common::Wait> started_;
  std::vector<common::Wait> released_;
  std::set<std::size_t> failing_;
  std::vector<Keys> batches_;
  int running_ = 0;
  int most_running_ = 0;
};

TEST(Batcher, LoneCallerInAFiber_RunsAtOnceAsABatchOfOne) {
  common::LoopRunner runner;
  Recorder recorder;
  IntBatcher batcher(recorder.function(), 4);
  on_loop(runner, [&](common::EventLoop& loop) {
    // A timer due at once fires on the loop's next iteration at the earliest.
    bool next_iteration = false;
    auto timer = loop.after(0ms, [&] { next_iteration = true; });
    EXPECT_EQ(batcher.submit(21), 42);
    EXPECT_FALSE(next_iteration) << "the lone caller waited for another iteration";
    EXPECT_EQ(batcher.batches(), 1u);
    EXPECT_EQ(batcher.keys(), 1u);
    EXPECT_EQ(batcher.submit(5), 10);
    EXPECT_FALSE(next_iteration);
    EXPECT_EQ(batcher.batches(), 2u);
    EXPECT_EQ(batcher.keys(), 2u);
    loop.cancel(timer);
  });
  EXPECT_EQ(recorder.batches(), (std::vector<Keys>{{21}, {5}}));
}

TEST(Batcher, CallersOfOneIteration_ShareOneBatchInTheirOrderAndEachGetsItsOwnResult) {
  common::LoopRunner runner;
  Recorder recorder;
  IntBatcher batcher(recorder.function(), 2);
  Keys keys;
  for (int i = 0; i < 16; ++i) keys.push_back((i * 7) % 16 - 3);  // not sorted, some negative
  on_loop(runner, [&](common::EventLoop&) {
    Callers callers(batcher, keys);
    callers.wait();
    callers.expect_doubled();
    EXPECT_EQ(batcher.batches(), 1u);
    EXPECT_EQ(batcher.keys(), keys.size());
  });
  EXPECT_EQ(recorder.batches(), std::vector<Keys>{keys});
}

TEST(Batcher, WhileMaxInFlightBatchesAreHeld_LaterCallersQueueAndThenShareTheNextBatch) {
  common::LoopRunner runner;
  Recorder recorder(2);
  IntBatcher batcher(recorder.function(), 2);
  on_loop(runner, [&](common::EventLoop& loop) {
    Callers first(batcher, {1000});
    recorder.wait_started(0);
    Callers second(batcher, {2000});
    recorder.wait_started(1);  // two batches in flight: the cap
    Callers queued(batcher, range(0, 10));
    loop.spawn([&] {
      until_next_iteration(loop);  // every queued caller has submitted by then
      EXPECT_EQ(recorder.batches().size(), 2u) << "a batch started beyond max_in_flight";
      EXPECT_EQ(batcher.batches(), 2u);
      EXPECT_EQ(queued.answered(), 0u);
      recorder.release(0);
    });
    queued.wait();
    EXPECT_EQ(first.answered(), 1u);
    EXPECT_EQ(second.answered(), 0u) << "its batch is still held";
    EXPECT_EQ(batcher.batches(), 3u);
    EXPECT_EQ(batcher.keys(), 12u);
    recorder.release(1);
    second.wait();
    first.expect_doubled();
    second.expect_doubled();
    queued.expect_doubled();
    EXPECT_EQ(batcher.batches(), 3u);
  });
  EXPECT_EQ(recorder.batches(), (std::vector<Keys>{{1000}, {2000}, range(0, 10)}));
  EXPECT_EQ(recorder.most_running(), 2);
}

TEST(Batcher, BatchThrows_EveryCallerOfThatBatchGetsTheExceptionAndNoOtherCaller) {
  common::LoopRunner runner;
  Recorder recorder(1, {1});  // batch 0 held, batch 1 throws
  IntBatcher batcher(recorder.function(), 2);
  on_loop(runner, [&](common::EventLoop&) {
    Callers held(batcher, {1});
    recorder.wait_started(0);
    Callers failing(batcher, range(10, 8));  // batch 1, beside the held one
    failing.wait();
    failing.expect_thrown<std::runtime_error>("batch 1");
    EXPECT_EQ(held.answered(), 0u);
    recorder.release(0);
    held.wait();
    held.expect_doubled();
    // The batcher still serves after a failed batch.
    Callers after(batcher, range(20, 3));
    after.wait();
    after.expect_doubled();
    EXPECT_EQ(batcher.batches(), 3u);
  });
  EXPECT_EQ(recorder.sizes(), (std::vector<std::size_t>{1, 8, 3}));
}

TEST(Batcher, WrongNumberOfResults_FailsTheBatchInsteadOfGuessing) {
  common::LoopRunner runner;
  std::vector<std::size_t> sizes;
  IntBatcher batcher(
      [&](const Keys& keys) {
        sizes.push_back(keys.size());
        // One too few for a lone key, one too many for more.
        return keys.size() == 1 ? Keys{} : Keys(keys.size() + 1, 0);
      },
      2);
  on_loop(runner, [&](common::EventLoop&) {
    Callers lone(batcher, {1});
    lone.wait();
    lone.expect_thrown<std::logic_error>();
    Callers many(batcher, range(0, 4));
    many.wait();
    many.expect_thrown<std::logic_error>();
    EXPECT_EQ(batcher.batches(), 2u);
  });
  EXPECT_THROW(batcher.submit(1), std::logic_error);  // outside a fiber too
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 4, 1}));
}

TEST(Batcher, MoreQueuedThanMaxBatch_SplitIntoBatchesAndNobodyLeftWaiting) {
  common::LoopRunner runner;
  Recorder recorder(1);
  IntBatcher batcher(recorder.function(), 1, 4);
  on_loop(runner, [&](common::EventLoop& loop) {
    Callers first(batcher, {-1});
    recorder.wait_started(0);
    Callers queued(batcher, range(0, 10));
    loop.spawn([&] {
      until_next_iteration(loop);
      EXPECT_EQ(recorder.batches().size(), 1u) << "a batch started beyond max_in_flight";
      EXPECT_EQ(queued.answered(), 0u);
      recorder.release(0);
    });
    queued.wait();
    first.wait();
    first.expect_doubled();
    queued.expect_doubled();
    EXPECT_EQ(batcher.batches(), 4u);
    EXPECT_EQ(batcher.keys(), 11u);
  });
  EXPECT_EQ(recorder.batches(), (std::vector<Keys>{{-1}, {0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
}

TEST(Batcher, MoreCallersOfOneIterationThanMaxBatch_UpToMaxInFlightBatchesStartAtOnce) {
  common::LoopRunner runner;
  Recorder recorder;
  IntBatcher batcher(recorder.function(), 2, 4);
  on_loop(runner, [&](common::EventLoop&) {
    Callers callers(batcher, range(0, 10));
    callers.wait();
    callers.expect_doubled();
  });
  EXPECT_EQ(recorder.batches(), (std::vector<Keys>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
}

TEST(Batcher, OutsideAnyFiber_RunsAtOnceAsABatchOfOne) {
  std::vector<Keys> batches;
  IntBatcher batcher(
      [&](const Keys& keys) {
        batches.push_back(keys);
        if (keys.front() < 0) throw std::runtime_error("negative");
        return doubled(keys);
      },
      1);
  // The test's own thread: no loop at all.
  EXPECT_EQ(batcher.submit(21), 42);
  EXPECT_EQ(batcher.submit(4), 8);
  EXPECT_THROW(batcher.submit(-1), std::runtime_error);
  EXPECT_EQ(batcher.batches(), 0u);  // no loop: no loop's counts
  EXPECT_EQ(batches, (std::vector<Keys>{{21}, {4}, {-1}}));

  // On a loop but not in a fiber (a timer's callback): also at once.
  common::LoopRunner runner;
  batches.clear();
  on_loop(runner, [&](common::EventLoop& loop) {
    common::Wait fired;
    std::optional<int> answer;
    loop.after(0ms, [&] {
      answer = batcher.submit(7);
      fired.notify();
    });
    fired.wait();
    EXPECT_EQ(answer, 14);
  });
  EXPECT_EQ(batches, std::vector<Keys>{{7}});
}

TEST(Batcher, TwoLoopsUsingOneBatcher_KeepSeparateQueues) {
  constexpr int kCallers = 8;
  std::mutex mutex;
  std::condition_variable arrived_changed;
  int arrived = 0;
  struct Seen {
    common::EventLoop* loop;
    Keys keys;
  };
  std::vector<Seen> seen;
  IntBatcher batcher(
      [&](const Keys& keys) {
        std::unique_lock<std::mutex> lock(mutex);
        seen.push_back({common::EventLoop::current(), keys});
        ++arrived;
        arrived_changed.notify_all();
        // Each loop's first batch holds its loop's thread until the other
        // loop runs one too: both loops' callers are in the batcher at once.
        arrived_changed.wait_for(lock, 2s, [&] { return arrived >= 2; });
        return doubled(keys);
      },
      2);
  struct PerLoop {
    common::LoopRunner runner;
    int base = 0;
    common::EventLoop* loop = nullptr;
    std::size_t batches = 0;
    std::size_t keys = 0;
  };
  PerLoop one;
  PerLoop two;
  one.base = 1000;
  two.base = 2000;
  auto run = [&](PerLoop& each) {
    on_loop(each.runner, [&](common::EventLoop& loop) {
      each.loop = &loop;
      Callers callers(batcher, range(each.base, kCallers));
      callers.wait();
      callers.expect_doubled();
      // And once more, after the first batches are done.
      Callers again(batcher, range(each.base + 100, kCallers));
      again.wait();
      again.expect_doubled();
      each.batches = batcher.batches();
      each.keys = batcher.keys();
    });
  };
  std::thread other([&] { run(two); });
  run(one);
  other.join();

  ASSERT_NE(one.loop, two.loop);
  EXPECT_EQ(arrived, 4);
  EXPECT_EQ(one.batches, 2u);
  EXPECT_EQ(one.keys, 2u * kCallers);
  EXPECT_EQ(two.batches, 2u);
  EXPECT_EQ(two.keys, 2u * kCallers);
  std::vector<Keys> of_one;
  std::vector<Keys> of_two;
  for (const auto& batch : seen) {
    ASSERT_TRUE(batch.loop == one.loop || batch.loop == two.loop);
    (batch.loop == one.loop ? of_one : of_two).push_back(batch.keys);
  }
  EXPECT_EQ(of_one, (std::vector<Keys>{range(1000, kCallers), range(1100, kCallers)}));
  EXPECT_EQ(of_two, (std::vector<Keys>{range(2000, kCallers), range(2100, kCallers)}));
}

TEST(Batcher, ManyFibersWithFailingBatches_EachGetsItsOwnAnswerAndInFlightStaysBounded) {
  constexpr int kMaxInFlight = 2;
  constexpr int kFibers = 200;
  constexpr int kCalls = 5;
  common::LoopRunner runner;
  int running = 0;
  int most_running = 0;
  std::size_t batch_number = 0;
  std::set<int> failed_keys;  // the keys of the batches that threw
  IntBatcher batcher(
      [&](const Keys& keys) {
        most_running = std::max(most_running, ++running);
        // In flight until the loop's deferred tasks run: other fibers go on.
        common::Wait later;
        common::EventLoop::current()->defer([&later] { later.notify(); });
        later.wait();
        --running;
        if (batch_number++ % 7 == 3) {
          failed_keys.insert(keys.begin(), keys.end());
          throw std::runtime_error("batch failed");
        }
        return doubled(keys);
      },
      kMaxInFlight, 8);
  int answered = 0;
  int wrong = 0;
  int thrown = 0;
  on_loop(runner, [&](common::EventLoop& loop) {
    common::Wait all;
    for (int f = 0; f < kFibers; ++f) {
      loop.spawn([&, f] {
        for (int i = 0; i < kCalls; ++i) {
          int key = f * kCalls + i;
          try {
            if (batcher.submit(key) != key * 2 || failed_keys.count(key)) ++wrong;
          } catch (const std::runtime_error&) {
            ++thrown;
            if (!failed_keys.count(key)) ++wrong;
          }
          ++answered;
        }
        if (answered == kFibers * kCalls) all.notify();
      });
    }
    all.wait();
    EXPECT_EQ(batcher.keys(), static_cast<std::size_t>(kFibers * kCalls));
    EXPECT_EQ(batcher.batches(), batch_number);
  });
  EXPECT_EQ(answered, kFibers * kCalls);
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(thrown, static_cast<int>(failed_keys.size()));
  EXPECT_GT(thrown, 0);
  EXPECT_EQ(most_running, kMaxInFlight);
  EXPECT_LT(batch_number, static_cast<std::size_t>(kFibers * kCalls) / 4);  // batched indeed
}

// The database's deadline counts a caller's time in the batcher's queue: a
// batch runs with its leader's arrival (its earliest caller's) as the start
// of its wait, not with the moment it was let go.
TEST(Batcher, BatchRunsWithItsLeadersArrivalAsTheStartOfItsWait) {
  using Clock = common::WaitingSince::Clock;
  common::LoopRunner runner;
  std::vector<std::optional<Clock::time_point>> seen;
  common::Wait release;
  bool hold = true;
  IntBatcher batcher(
      [&](const Keys& keys) {
        seen.push_back(common::WaitingSince::current());
        if (hold) {
          hold = false;
          release.wait();
        }
        return doubled(keys);
      },
      1);
  on_loop(runner, [&](common::EventLoop& loop) {
    Callers first(batcher, {1});
    until_next_iteration(loop);  // its batch runs, held: the cap is reached
    auto queued = Clock::now();
    Callers next(batcher, {2, 3});
    until_next_iteration(loop);
    common::sleep_for(100ms);
    auto released = Clock::now();
    release.notify();
    first.wait();
    next.wait();
    next.expect_doubled();
    ASSERT_EQ(seen.size(), 2u);
    ASSERT_TRUE(seen[1]);
    EXPECT_GE(*seen[1], queued);
    EXPECT_LT(*seen[1], released) << "counted from the batch's start, not its leader's arrival";
    EXPECT_FALSE(common::WaitingSince::current()) << "in force outside the batch";
  });
}

TEST(WaitingSince, AnEarlierStartInForceIsKeptAndRestored) {
  using Clock = common::WaitingSince::Clock;
  auto early = Clock::now() - 5s;
  auto late = Clock::now();
  EXPECT_FALSE(common::WaitingSince::current());
  {
    common::WaitingSince outer(early);
    {
      common::WaitingSince inner(late);
      EXPECT_EQ(common::WaitingSince::current(), early);
    }
    EXPECT_EQ(common::WaitingSince::current(), early);
  }
  {
    common::WaitingSince outer(late);
    {
      common::WaitingSince inner(early);
      EXPECT_EQ(common::WaitingSince::current(), early);
    }
    EXPECT_EQ(common::WaitingSince::current(), late);
  }
  EXPECT_FALSE(common::WaitingSince::current());
}

}  // namespace
