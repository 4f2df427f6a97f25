// The loops' PostgreSQL connections (common/database.hpp).
#include "common/database.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "common/config.hpp"
#include "common/event_loop.hpp"
#include "common/waiting_since.hpp"
#include "pg/pipeline.hpp"

namespace common {
namespace {

using Clock = std::chrono::steady_clock;

// A connection that failed is tried again this often while it is needed.
constexpr auto kRetryPeriod = std::chrono::milliseconds(250);
// Batches one connection has in flight. One, as a pool's connection runs one
// statement at a time: a batch waits in the loop's queue (where the next
// batch grows, and the wait is bounded) rather than in PostgreSQL's behind a
// slow statement; and a connection closed for want of an answer takes only
// its own batch with it.
constexpr std::size_t kPipelineDepth = 1;

std::chrono::milliseconds until(Clock::time_point deadline, Clock::time_point now) {
  // Rounded up: a timer set for the rounded-down time would fire before it.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
  return std::max(left, std::chrono::milliseconds(1));
}

// SQLSTATE classes 53 (insufficient resources), 57 (operator intervention,
// e.g. 57014 statement timeout, 57P01 shutdown) and 55P03 (lock not
// available): the database cannot serve now, a 503 rather than a 500.
bool is_unavailable(const std::string& sqlstate) {
  return sqlstate.rfind("53", 0) == 0 || sqlstate.rfind("57", 0) == 0 || sqlstate == "55P03";
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

}  // namespace

// What the loops and the connecting thread share.
struct Database::Shared {
  const std::uint64_t owner = EventLoop::new_owner();
  std::string url;
  std::vector<std::pair<std::string, std::string>> prepared;
  int per_loop = 1;
  std::chrono::milliseconds request_timeout;
  std::chrono::milliseconds connect_wait;

  std::atomic<int> size{0};
  std::atomic<int> ready{0};
  std::atomic<int> in_use{0};
  std::atomic<int> waiting{0};
  std::atomic<long long> connect_failures{0};
  std::atomic<long long> broken{0};
  std::atomic<long long> timeouts{0};
  std::atomic<long long> abandoned{0};
  std::atomic<long long> calls{0};
  std::atomic<int> connecting{0};
  std::atomic<bool> broken_since_success{false};  // a connect failed since the last success

  // The connecting thread: jobs in, ready connections handed to their loop.
  struct Job {
    std::function<void(std::unique_ptr<pg::Pipeline>, std::string error)> deliver;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> jobs;
  bool stopping = false;
  bool finished = false;  // the thread is done with everything
  std::thread thread;

  void connect_loop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [this] { return stopping || !jobs.empty(); });
        if (stopping) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      std::unique_ptr<pg::Pipeline> pipeline;
      std::string error;
      try {
        pipeline = pg::Pipeline::connect(url, {"SET statement_timeout = 5000"}, prepared);
      } catch (const std::exception& failure) {
        error = trimmed(failure.what());
      }
      job.deliver(std::move(pipeline), std::move(error));
    }
  }

  // The loops using this database, so that one finding it back tells the
  // others at once instead of at their next retry.
  struct Peer {
    EventLoop* loop;
    std::shared_ptr<std::atomic<bool>> alive;
    std::function<void()> retry;
  };
  std::vector<Peer> peers;  // under mutex

  void add_peer(Peer peer) {
    std::lock_guard<std::mutex> lock(mutex);
    peers.push_back(std::move(peer));
  }
  void tell_peers_it_is_back(EventLoop* from) {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& peer : peers) {
      if (peer.loop == from || !peer.alive->load()) continue;
      auto alive = peer.alive;
      auto retry = peer.retry;
      EventLoop::post_if_running(peer.loop, [alive, retry] {
        if (alive->load()) retry();
      });
    }
  }

  void submit(Job job) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      jobs.push_back(std::move(job));
    }
    wake.notify_one();
  }
};

namespace {

// One loop's connections.
struct LoopDb {
  struct Slot {
    std::unique_ptr<pg::Pipeline> pipeline;
    int fd = -1;
    bool connecting = false;
    bool watching_write = false;
    Clock::time_point last_attempt{};
    std::deque<Clock::time_point> sent;  // of the batches in flight, oldest first
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

  ~LoopDb() {
    alive->store(false);
    for (auto& slot : slots) drop(slot);
    fail_queued();
  }

  void init(EventLoop& owner, std::shared_ptr<Database::Shared> from) {
    loop = &owner;
    shared = std::move(from);
    slots.resize(static_cast<std::size_t>(shared->per_loop));
    shared->size += shared->per_loop;
    shared->add_peer({loop, alive, [this] { connect_all(); }});
    connect_all();
  }

  void connect_all() {
    for (std::size_t i = 0; i < slots.size(); ++i) connect(i);
  }

  bool any_connecting() const {
    for (const auto& slot : slots) {
      if (slot.connecting) return true;
    }
    return false;
  }

  bool any_ready() const {
    for (const auto& slot : slots) {
      if (slot.pipeline) return true;
    }
    return false;
  }

  // The connection with the fewest batches in flight, if one can take another.
  Slot* pick() {
    Slot* best = nullptr;
    for (auto& slot : slots) {
      if (!slot.pipeline || slot.sent.size() >= kPipelineDepth) continue;
      if (!best || slot.sent.size() < best->sent.size()) best = &slot;
    }
    return best;
  }

  // Sends what is queued, in order, while connections can take it. A sent
  // batch whose answer is not there by its deadline costs its connection
  // (expire()).
  void send_queued() {
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
      slot->sent.push_back(now);
      ++shared->in_use;
      auto index = static_cast<std::size_t>(slot - slots.data());
      // Armed before send(), which may complete the batch at once.
      pending->answer_timer =
          loop->after(until(pending->deadline, now), [this, index] { expire(index); });
      auto* slot_sent = &slot->sent;
      auto* counters = shared.get();
      EventLoop* owner = loop;
      slot->pipeline->send(pending->statements,
                           [pending, slot_sent, counters, owner](pg::Outcome result) {
                             owner->cancel(pending->answer_timer);
                             if (!slot_sent->empty()) slot_sent->pop_front();
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
  void expire(std::size_t index) {
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

  // Everything queued gets `why` (the database is down).
  void fail_queued() {
    auto failed = std::move(queue);
    queue.clear();
    for (auto* pending : failed) {
      pending->outcome->status = pg::Outcome::Status::broken;
      pending->outcome->message = "no database connection";
      pending->done->notify();
    }
  }

  void connect(std::size_t index) {
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

  void adopt(std::size_t index, std::unique_ptr<pg::Pipeline> pipeline, const std::string& error) {
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

  void schedule_retry() {
    if (retry_scheduled) return;
    retry_scheduled = true;
    loop->after(kRetryPeriod, [this] {
      retry_scheduled = false;
      connect_all();
    });
  }

  void on_event(std::size_t index, std::uint32_t events) {
    Slot& slot = slots[index];
    if (!slot.pipeline) return;
    if (events & EventLoop::kWritable) slot.pipeline->on_writable();
    if (events & (EventLoop::kReadable | EventLoop::kError)) slot.pipeline->on_readable();
    settle(index);
    send_queued();
  }

  // After any use of a slot's pipeline: the socket's interest follows what
  // it has to send, and a broken connection is dropped and tried again.
  void settle(std::size_t index) {
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

  void drop(Slot& slot) {
    if (!slot.pipeline) return;
    if (loop && slot.fd >= 0) loop->unwatch(slot.fd);
    slot.fd = -1;
    auto pipeline = std::move(slot.pipeline);
    --shared->ready;
    pipeline.reset();  // completes what was in flight as broken
    slot.sent.clear();
  }
};

}  // namespace

Database::Database(std::string url, std::vector<PreparedStatement> statements,
                   int connections_per_loop, std::chrono::milliseconds request_timeout,
                   std::chrono::milliseconds connect_wait)
    : shared_(std::make_shared<Shared>()) {
  shared_->url = pg::with_socket_limits(std::move(url));
  for (auto& statement : statements) {
    shared_->prepared.emplace_back(std::move(statement.name), std::move(statement.sql));
  }
  shared_->per_loop = connections_per_loop < 1 ? 1 : connections_per_loop;
  shared_->request_timeout = std::max(request_timeout, std::chrono::milliseconds(1));
  shared_->connect_wait = connect_wait;
  // The thread holds the shared state too: the destructor may leave it
  // behind in a connect that hangs (see there).
  shared_->thread = std::thread([shared = shared_] {
    shared->connect_loop();
    std::lock_guard<std::mutex> lock(shared->mutex);
    shared->finished = true;
    shared->wake.notify_all();
  });
}

Database::~Database() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stopping = true;
  }
  shared_->wake.notify_all();
  // A connect to a server that accepts and never answers waits for libpq's
  // connect_timeout: not worth holding up a shutdown for.
  std::unique_lock<std::mutex> lock(shared_->mutex);
  if (shared_->wake.wait_for(lock, std::chrono::milliseconds(500),
                             [this] { return shared_->finished; })) {
    lock.unlock();
    shared_->thread.join();
  } else {
    shared_->thread.detach();
  }
}

std::vector<Rows> Database::run(std::vector<Statement> statements) {
  EventLoop* loop = EventLoop::current();
  if (!loop || !Fiber::current()) {
    throw std::logic_error("Database::run is called in a fiber on an event loop");
  }
  auto& db = loop->local<LoopDb>(shared_->owner);
  if (!db.loop) db.init(*loop, shared_);
  ++shared_->calls;
  // One deadline for the whole wait: from when the caller began to wait (in a
  // Batcher's queue, say), through this loop's queue, to the answer.
  auto now = Clock::now();
  auto deadline = WaitingSince::current().value_or(now) + shared_->request_timeout;
  if (now >= deadline) {
    ++shared_->timeouts;
    spdlog::warn("a database call waited out DB_REQUEST_TIMEOUT_MS ({} ms) before it was sent",
                 shared_->request_timeout.count());
    throw ServiceUnavailable("Database busy.");
  }

  if (!db.any_ready() && !db.any_connecting()) {
    // Down: a new attempt unless one failed just now (then the answer is
    // known). The call waits for the attempt: refused at once while the
    // server is down, served as soon as it is back.
    for (std::size_t i = 0; i < db.slots.size(); ++i) {
      if (Clock::now() - db.slots[i].last_attempt >= kRetryPeriod) db.connect(i);
    }
    db.schedule_retry();
    if (!db.any_connecting()) {
      ++shared_->timeouts;
      throw ServiceUnavailable("Database unavailable.");
    }
  }

  pg::Outcome outcome;
  Wait done;
  LoopDb::Pending pending{std::move(statements), &outcome, &done, deadline};
  db.queue.push_back(&pending);
  db.send_queued();
  if (!pending.sent && !done.done()) {
    // Every connection is busy or coming up: a bounded wait, like a pool's
    // (the shorter of connect_wait and what is left of the deadline); once
    // sent, the answer's own timer bounds the rest (LoopDb::send_queued).
    ++shared_->waiting;
    auto wait = std::min(shared_->connect_wait, until(deadline, Clock::now()));
    auto timer = loop->after(wait, [&db, &pending, &outcome, &done] {
      auto it = std::find(db.queue.begin(), db.queue.end(), &pending);
      if (it == db.queue.end()) return;
      db.queue.erase(it);
      outcome.status = pg::Outcome::Status::broken;
      outcome.message = "no connection free in time";
      done.notify();
    });
    done.wait();  // not sent in time, or sent and then answered or given up on
    --shared_->waiting;
    loop->cancel(timer);
  }
  done.wait();
  if (!pending.sent) {
    ++shared_->timeouts;
    if (outcome.message == "no database connection") {
      throw ServiceUnavailable("Database unavailable.");
    }
    spdlog::warn("no database connection free in time ({} ms at most)",
                 std::min(shared_->connect_wait, shared_->request_timeout).count());
    throw ServiceUnavailable("Database busy.");
  }

  switch (outcome.status) {
    case pg::Outcome::Status::ok:
      if (outcome.unconfirmed) {
        // A WARNING while the batch (and so its COMMIT) ran: e.g. a COMMIT
        // whose wait for the synchronous standby was cancelled, committed
        // here, perhaps never replicated, so perhaps lost by a failover.
        // Nothing unconfirmed is acknowledged.
        ++shared_->timeouts;
        spdlog::warn(
            "a transaction ended with a warning ({}): answered 503, its write may or may not "
            "have happened or survive a failover",
            trimmed(outcome.warning));
        throw ServiceUnavailable("Database unavailable.");
      }
      return std::move(outcome.rows);
    case pg::Outcome::Status::sql_error:
      if (is_unavailable(outcome.sqlstate)) {
        ++shared_->timeouts;
        spdlog::warn("database could not serve the statement (SQLSTATE {})", outcome.sqlstate);
        throw ServiceUnavailable("Database unavailable.");
      }
      throw SqlError(outcome.sqlstate, trimmed(outcome.message));
    case pg::Outcome::Status::broken:
      break;
  }
  spdlog::warn("database connection failed during a statement: {}", trimmed(outcome.message));
  throw ServiceUnavailable("Database unavailable.");
}

void Database::open_on_this_loop() {
  EventLoop* loop = EventLoop::current();
  if (!loop) return;
  auto& db = loop->local<LoopDb>(shared_->owner);
  if (!db.loop) db.init(*loop, shared_);
}

bool Database::all_connected(std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  for (;;) {
    if (shared_->ready.load() >= shared_->size.load()) return true;
    if (shared_->connecting.load() == 0 || Clock::now() >= until) return false;
    sleep_for(std::chrono::milliseconds(10));
  }
}

Rows Database::run(Statement statement) {
  std::vector<Statement> one;
  one.push_back(std::move(statement));
  return std::move(run(std::move(one)).front());
}

int Database::connections_per_loop() const {
  return shared_->per_loop;
}

PoolStats Database::stats() const {
  PoolStats stats;
  stats.size = shared_->size.load();
  stats.in_use = std::min(shared_->in_use.load(), stats.size);
  stats.idle = std::max(0, shared_->ready.load() - stats.in_use);
  stats.waiting = shared_->waiting.load();
  stats.connect_failures = shared_->connect_failures.load();
  stats.broken_connections = shared_->broken.load();
  stats.timeouts = shared_->timeouts.load();
  stats.abandoned = shared_->abandoned.load();
  stats.calls = shared_->calls.load();
  return stats;
}

void append_pool_metrics(const PoolStats& stats, std::string& out) {
  out += "# HELP db_pool_connections Database connections by state.\n";
  out += "# TYPE db_pool_connections gauge\n";
  out += "db_pool_connections{state=\"in_use\"} " + std::to_string(stats.in_use) + "\n";
  out += "db_pool_connections{state=\"idle\"} " + std::to_string(stats.idle) + "\n";
  out += "# HELP db_pool_waiting Requests waiting for a connection.\n";
  out += "# TYPE db_pool_waiting gauge\n";
  out += "db_pool_waiting " + std::to_string(stats.waiting) + "\n";
  out += "# HELP db_errors_total Database failures by kind.\n";
  out += "# TYPE db_errors_total counter\n";
  out += "db_errors_total{kind=\"connect\"} " + std::to_string(stats.connect_failures) + "\n";
  out += "db_errors_total{kind=\"broken\"} " + std::to_string(stats.broken_connections) + "\n";
  out += "db_errors_total{kind=\"timeout\"} " + std::to_string(stats.timeouts) + "\n";
  out += "db_errors_total{kind=\"no_answer\"} " + std::to_string(stats.abandoned) + "\n";
  out += "# HELP db_calls_total Batches sent for (one statement or one transaction each).\n";
  out += "# TYPE db_calls_total counter\n";
  out += "db_calls_total " + std::to_string(stats.calls) + "\n";
}

}  // namespace common
