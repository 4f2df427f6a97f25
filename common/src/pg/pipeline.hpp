// Internal: one PostgreSQL connection in libpq's pipeline mode, driven by an
// event loop and never blocking it (after connect(), which is blocking and
// is called on a helper thread).
//
// Why libpq and not libpqxx here: libpqxx 6.4's pipeline takes SQL text only
// (no parameters, no prepared statements), its retrieve() blocks and its
// asynchronous connect waits; libpq 14+ pipeline mode sends many prepared
// statements back to back and hands their results over as the socket
// delivers them. Everything else in the service keeps using libpqxx.
//
// A batch is a list of statements followed by a Sync: PostgreSQL runs them as
// one implicit transaction (all or nothing), and a batch is completed only
// once its Sync came back, i.e. after the COMMIT.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/pg_rows.hpp"

struct pg_conn;  // libpq's PGconn

namespace common::pg {

struct Outcome {
  enum class Status {
    ok,         // rows holds one Rows per statement
    sql_error,  // a statement failed; the batch was rolled back
    broken,     // the connection failed before the batch completed
  };
  Status status = Status::ok;
  std::vector<Rows> rows;
  std::string sqlstate;  // sql_error
  std::string message;   // for logs (libpq's text; never holds a password)
  // A notice of severity WARNING arrived while this batch ran. Every batch
  // ends in a COMMIT (the implicit one at its Sync), and a COMMIT that
  // PostgreSQL could not fully confirm says so only with a WARNING: a
  // cancelled wait for the synchronous standby (committed here, perhaps never
  // replicated) carries the generic SQLSTATE 01000 and a translated text, so
  // the severity is the one sign to go by. The caller does not acknowledge it.
  bool unconfirmed = false;
  std::string warning;  // the first such warning's SQLSTATE and text, for logs
};

class Pipeline {
 public:
  using Done = std::function<void(Outcome)>;

  // Blocking: opens the connection, runs each `setup` statement (e.g. "SET
  // statement_timeout = 5000"), prepares each (name, sql) statement, then
  // switches to non-blocking pipeline mode. Throws std::runtime_error with
  // libpq's message (which names host and port, never the password).
  static std::unique_ptr<Pipeline> connect(
      const std::string& url, const std::vector<std::string>& setup,
      const std::vector<std::pair<std::string, std::string>>& prepared);

  ~Pipeline();  // fail_all(), then closes the connection
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  int fd() const;
  // Queues the batch and sends what the socket takes. `done` runs exactly
  // once, from on_readable(), on_writable(), send() itself (when the
  // connection is already broken) or fail_all(); it may call send() again.
  void send(const std::vector<Statement>& statements, Done done);
  // Unsent bytes are buffered: the caller watches the socket for writable.
  bool wants_write() const;
  // Completes the batches whose results libpq already holds (a flush may
  // read them off the socket): call after send(), outside of any callback.
  void read_buffered();
  void on_readable();
  void on_writable();
  bool broken() const;
  std::size_t in_flight() const;  // batches sent, not completed
  // Completes every batch not yet completed with Status::broken, and marks
  // the connection broken.
  void fail_all(const std::string& why);

 private:
  explicit Pipeline(pg_conn* connection);
  struct Batch {
    std::size_t statements = 0;
    Done done;
    Outcome outcome;
    std::size_t next = 0;  // statement whose result comes next
  };
  void read_results();
  void complete_front();
  void flush();
  static void on_notice(void* self, const pg_result* notice);

  pg_conn* connection_;
  std::deque<Batch> batches_;
  bool broken_ = false;
  bool wants_write_ = false;
  // A result came that its statement's closing NULL has not yet followed.
  bool in_statement_ = false;
};

// `url` (a libpq URI) with the connection parameters the service sets unless
// the URL does:
// - connect_timeout: fail fast when the server is unreachable.
// - keepalives: an idle connection whose server vanished without a word (a
//   host gone, a failover behind a black hole) is found by the kernel's
//   probes -- the first after 10 s of silence, then every 5 s -- and closed,
//   so the loop replaces it before a request finds it dead.
// - tcp_user_timeout (TCP_USER_TIMEOUT): sent data that stays unacknowledged
//   for 10 s (and so an unanswered probe) closes the socket, where the
//   kernel's default retransmits for about 15 minutes. Longer than
//   DB_REQUEST_TIMEOUT_MS's default, which bounds the requests themselves: the
//   socket limits are for what no request waits on (an idle connection, the
//   close of one given up on), not a second deadline.
std::string with_socket_limits(std::string url);

}  // namespace common::pg
