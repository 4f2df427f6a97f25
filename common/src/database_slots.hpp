// Internal: one loop's database connections (its slots), the calls queued
// for them, and each connection's life: asked of the connecting thread,
// adopted on the loop, watched like any socket, closed when broken or when
// a batch on it goes unanswered past its deadline.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "database_connector.hpp"
#include "pg/pipeline.hpp"

namespace common {

// A connection that failed is tried again this often while it is needed.
constexpr auto kRetryPeriod = std::chrono::milliseconds(250);

// What is left until `deadline`, at least 1 ms.
std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline,
                                    std::chrono::steady_clock::time_point now);

// One loop's connections.
struct LoopDb {
  using Clock = std::chrono::steady_clock;

  struct Slot {
    std::unique_ptr<pg::Pipeline> pipeline;
    int fd = -1;
    bool connecting = false;
    bool watching_write = false;
    Clock::time_point last_attempt{};
    std::size_t in_flight = 0;  // batches sent and not yet answered
  };
  // A call waiting for a connection to take its batch, then for its answer.
  struct Pending {
    std::vector<Statement> statements;
    pg::Outcome* outcome = nullptr;
    Wait* done = nullptr;
    Clock::time_point deadline;
    bool sent = false;
    EventLoop::TimerId answer_timer = 0;  // from the send to the deadline
  };
  EventLoop* loop = nullptr;
  std::shared_ptr<Database::Shared> shared;
  // Cleared when the loop goes, so that a connection made meanwhile is dropped.
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  std::vector<Slot> slots;
  std::deque<Pending*> queue;
  bool retry_scheduled = false;

  ~LoopDb();
  void init(EventLoop& owner, std::shared_ptr<Database::Shared> from);
  void connect_all();
  bool any_connecting() const;
  bool any_ready() const;
  Slot* pick();
  // Sends what is queued, in order, while connections can take it.
  void send_queued();
  // A batch in flight on slot `index` reached its deadline unanswered.
  void expire(std::size_t index);
  // Everything queued fails as broken: the database is down.
  void fail_queued();
  // Asks the connecting thread for slot `index`'s connection (unless it
  // has one or one is coming); adopt() takes the result on the loop.
  void connect(std::size_t index);
  void adopt(std::size_t index, std::unique_ptr<pg::Pipeline> pipeline, const std::string& error);
  void schedule_retry();
  void on_event(std::size_t index, std::uint32_t events);
  // After any use of a slot's pipeline.
  void settle(std::size_t index);
  void drop(Slot& slot);
};

}  // namespace common
