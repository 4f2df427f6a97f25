// One loop's database connections (database_slots.hpp).
#include "database_slots.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/config.hpp"

namespace common {
namespace {

// Batches one connection has in flight. One, as a pool's connection runs one
// statement at a time: a batch waits in the loop's queue (where the next
// batch grows, and the wait is bounded) rather than in PostgreSQL's behind a
// slow statement; and a connection closed for want of an answer takes only
// its own batch with it.
constexpr std::size_t kPipelineDepth = 1;

}  // namespace

std::chrono::milliseconds time_left(std::chrono::steady_clock::time_point deadline,
                                    std::chrono::steady_clock::time_point now) {
  // Rounded up: a timer set for the rounded-down time would fire before it.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
  return std::max(left, std::chrono::milliseconds(1));
}

LoopDb::~LoopDb() {
  alive->store(false);
  for (auto& slot : slots) drop(slot);
  fail_queued();
}

void LoopDb::init(EventLoop& owner, std::shared_ptr<Database::Shared> from) {
  loop = &owner;
  shared = std::move(from);
  slots.resize(static_cast<std::size_t>(shared->per_loop));
  shared->size += shared->per_loop;
  shared->add_peer({loop, alive, [this] { connect_all(); }});
  connect_all();
}

void LoopDb::connect_all() {
  for (std::size_t i = 0; i < slots.size(); ++i) connect(i);
}

bool LoopDb::any_connecting() const {
  for (const auto& slot : slots) {
    if (slot.connecting) return true;
  }
  return false;
}

bool LoopDb::any_ready() const {
  for (const auto& slot : slots) {
    if (slot.pipeline) return true;
  }
  return false;
}

// The connection with the fewest batches in flight, if one can take another.
LoopDb::Slot* LoopDb::pick() {
  Slot* best = nullptr;
  for (auto& slot : slots) {
    if (!slot.pipeline || slot.in_flight >= kPipelineDepth) continue;
    if (!best || slot.in_flight < best->in_flight) best = &slot;
  }
  return best;
}

// Sends what is queued, in order, while connections can take it. A sent
// batch whose answer is not there by its deadline costs its connection
// (expire()).
void LoopDb::send_queued() {
  auto now = Clock::now();
  while (!queue.empty()) {
    Slot* slot = pick();
    if (!slot) return;
    Pending* pending = queue.front();
    queue.pop_front();
    if (now >= pending->deadline) {  // its queue timer is due: never sent, a plain 503
      pending->outcome->status = pg::Outcome::Status::broken;
      pending->outcome->message = "no connection free in time";
      pending->done->notify();
      continue;
    }
    pending->sent = true;
    ++slot->in_flight;
    ++shared->in_use;
    auto index = static_cast<std::size_t>(slot - slots.data());
    // Armed before send(), which may complete the batch at once.
    pending->answer_timer =
        loop->after(time_left(pending->deadline, now), [this, index] { expire(index); });
    auto* in_flight = &slot->in_flight;
    auto* counters = shared.get();
    EventLoop* owner = loop;
    slot->pipeline->send(pending->statements,
                         [pending, in_flight, counters, owner](pg::Outcome result) {
                           owner->cancel(pending->answer_timer);
                           if (*in_flight > 0) --*in_flight;
                           --counters->in_use;
                           *pending->outcome = std::move(result);
                           pending->done->notify();
                         });
    slot->pipeline->read_buffered();
    settle(index);
  }
}

// A batch in flight on this slot reached its deadline without an answer:
// the server is frozen, or the network drops everything without a reset.
// The connection is closed, not cancelled (libpq's PQcancel blocks the
// thread for as long as the server takes), which completes its batches as
// broken -- a 503, in doubt for a write whose COMMIT may have happened --
// and a new one is opened in the background.
void LoopDb::expire(std::size_t index) {
  Slot& slot = slots[index];
  if (!slot.pipeline) return;
  ++shared->abandoned;
  spdlog::warn(
      "no answer from the database within DB_REQUEST_TIMEOUT_MS ({} ms): closing that "
      "connection",
      shared->request_timeout.count());
  slot.pipeline->fail_all("no answer within DB_REQUEST_TIMEOUT_MS");
  drop(slot);
  connect(index);
  send_queued();
}

void LoopDb::fail_queued() {
  auto failed = std::move(queue);
  queue.clear();
  for (auto* pending : failed) {
    pending->outcome->status = pg::Outcome::Status::broken;
    pending->outcome->message = "no database connection";
    pending->done->notify();
  }
}

void LoopDb::connect(std::size_t index) {
  Slot& slot = slots[index];
  if (slot.connecting || slot.pipeline) return;
  slot.connecting = true;
  ++shared->connecting;
  slot.last_attempt = Clock::now();
  EventLoop* owner = loop;
  auto still_alive = alive;
  shared->submit({[owner, still_alive, index, self = this](std::unique_ptr<pg::Pipeline> pipeline,
                                                           const std::string& error) {
    // Runs on the connecting thread: the loop takes it over.
    if (!still_alive->load()) return;
    auto handed = std::make_shared<std::unique_ptr<pg::Pipeline>>(std::move(pipeline));
    EventLoop::post_if_running(owner, [still_alive, self, index, handed, error] {
      if (!still_alive->load()) return;
      self->adopt(index, std::move(*handed), error);
    });
  }});
}

void LoopDb::adopt(std::size_t index, std::unique_ptr<pg::Pipeline> pipeline,
                   const std::string& error) {
  Slot& slot = slots[index];
  slot.connecting = false;
  --shared->connecting;
  if (!pipeline) {
    ++shared->connect_failures;
    spdlog::warn("database connection to {} failed: {}", redact_url(shared->url), error);
    shared->broken_since_success.store(true);
    schedule_retry();
    if (!any_ready() && !any_connecting()) fail_queued();
  } else {
    slot.pipeline = std::move(pipeline);
    slot.fd = slot.pipeline->fd();
    slot.watching_write = false;
    ++shared->ready;
    loop->watch(slot.fd, true, false,
                [this, index](std::uint32_t events) { on_event(index, events); });
    if (shared->broken_since_success.exchange(false)) shared->tell_peers_it_is_back(loop);
  }
  send_queued();
}

void LoopDb::schedule_retry() {
  if (retry_scheduled) return;
  retry_scheduled = true;
  loop->after(kRetryPeriod, [this] {
    retry_scheduled = false;
    connect_all();
  });
}

void LoopDb::on_event(std::size_t index, std::uint32_t events) {
  Slot& slot = slots[index];
  if (!slot.pipeline) return;
  if (events & EventLoop::kWritable) slot.pipeline->on_writable();
  if (events & (EventLoop::kReadable | EventLoop::kError)) slot.pipeline->on_readable();
  settle(index);
  send_queued();
}

// The socket's interest follows what the pipeline has to send, and a broken
// connection is dropped and tried again.
void LoopDb::settle(std::size_t index) {
  Slot& slot = slots[index];
  if (!slot.pipeline) return;
  if (slot.pipeline->broken()) {
    ++shared->broken;
    spdlog::warn("database connection lost");
    drop(slot);
    connect(index);  // at once: most often the server restarted or the connection was cut
    return;
  }
  bool write = slot.pipeline->wants_write();
  if (write != slot.watching_write) {
    slot.watching_write = write;
    loop->rewatch(slot.fd, true, write);
  }
}

void LoopDb::drop(Slot& slot) {
  if (!slot.pipeline) return;
  if (loop && slot.fd >= 0) loop->unwatch(slot.fd);
  slot.fd = -1;
  auto pipeline = std::move(slot.pipeline);
  --shared->ready;
  pipeline.reset();  // completes what was in flight as broken
  slot.in_flight = 0;
}

}  // namespace common
