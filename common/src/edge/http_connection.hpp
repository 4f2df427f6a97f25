// Internal: one client connection, on the loop that accepted it. Bytes are
// read when the socket has them and framed once; the requests are answered
// one at a time and in order by one fiber of the connection (pipelining),
// which suspends -- never the loop -- while the database works or while a
// slow client makes room for more of its answer. Timeouts (a request's head
// or body too slow, an idle keep-alive, a reader that takes nothing) are
// checked by the loop's sweep, so no connection can hold up another.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/event_loop.hpp"
#include "edge/dispatcher.hpp"
#include "edge/request_framer.hpp"
#include "edge/server_state.hpp"

namespace common::edge {

// The dispatcher sees it only as the ResponseSink it writes answers to.
class HttpConnection : public std::enable_shared_from_this<HttpConnection>, private ResponseSink {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_closed` runs once the socket is closed, with its descriptor (the
  // owner forgets the connection; the call may drop the last reference but
  // the caller's).
  HttpConnection(EventLoop& loop, std::function<void(int fd)> on_closed, ServerState& state, int fd,
                 std::string peer_address);
  ~HttpConnection();

  void start();
  // The loop's periodic check of this connection's deadlines.
  void sweep(Clock::time_point now);
  // Closes now (unanswered requests are dropped).
  void close();
  bool closed() const { return phase_ == Phase::closed; }

 private:
  // Where the connection is in its life; each phase says what is done with
  // the bytes the client sends.
  enum class Phase {
    // Requests are read and framed as they come.
    reading,
    // kMaxQueued requests wait: the socket is not read until the fiber catches up.
    paused,
    // The request or refusal that ends the connection is queued: the queued
    // ones are answered, what the client still sends is read and dropped.
    ending,
    // The client closed its side: what it asked is answered, then the
    // connection closes (nothing more to read).
    half_closed,
    // The last answer is out and our side shut: the client's bytes are read
    // and dropped until it closes (or the linger timeout).
    lingering,
    closed,
  };

  struct Item {
    enum class Kind { request, interim, refusal } kind = Kind::request;
    FramedRequest request;
    Refusal refusal;
    std::string request_id;  // of a refusal
  };

  void on_event(std::uint32_t events);
  void on_readable();
  void on_writable();
  void queue_events();
  void pump();
  void serve();
  void answer_refusal(const Item& item);
  void refuse(const Refusal& refusal);  // queues the answer that ends the connection
  void shed(const char* why);           // 503 and close: no fiber to serve it
  // ResponseSink, for the dispatcher (and the connection's own answers).
  bool write(std::string_view bytes) override;
  bool wait_for_room(std::size_t limit) override;
  void cut() override { close(); }

  // The request or refusal that ends the connection is queued.
  void end_after_queued();
  bool last_is_queued() const;  // ending or half_closed: finish_after_last() once answered
  bool wants_read() const;
  bool send_now(std::string_view& bytes);
  void finish_after_last();
  void update_interest();
  void flush();

  EventLoop& loop_;
  std::function<void(int fd)> on_closed_;
  ServerState& state_;
  int fd_;
  std::string peer_address_;
  RequestFramer framer_;
  std::deque<Item> items_;
  Phase phase_ = Phase::reading;
  bool serving_ = false;  // the connection's fiber runs
  // What the loop was last asked to watch, so that it is asked again only on a change.
  bool watching_read_ = true;
  bool watching_write_ = false;
  std::string out_;
  std::size_t out_pos_ = 0;
  Fiber* waiting_ = nullptr;  // the fiber waiting for room
  Clock::time_point request_started_;
  Clock::time_point last_activity_;
  Clock::time_point last_write_progress_;
};

}  // namespace common::edge
