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
#include <memory>
#include <string>
#include <string_view>

#include "common/event_loop.hpp"
#include "edge/request_framer.hpp"

namespace common::edge {

struct ServerState;
class ConnectionSet;

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  HttpConnection(EventLoop& loop, ConnectionSet& set, ServerState& state, int fd,
                 std::string peer_address);
  ~HttpConnection();

  void start();
  // The loop's periodic check of this connection's deadlines.
  void sweep(Clock::time_point now);
  // Closes now (unanswered requests are dropped).
  void close();
  bool closed() const { return fd_ < 0; }

  // For the fiber answering a request: queues bytes after what is already
  // queued and sends what the socket takes now. False once the connection is gone.
  bool write(std::string_view bytes);
  // Suspends until at most `limit` bytes wait to be sent; false when the
  // connection is gone or the client took nothing for the stall timeout.
  bool wait_for_room(std::size_t limit);
  const std::string& peer_address() const { return peer_address_; }

 private:
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
  bool send_now(std::string_view& bytes);
  void finish_after_last();
  void update_interest();
  void flush();

  EventLoop& loop_;
  ConnectionSet& set_;
  ServerState& state_;
  int fd_;
  std::string peer_address_;
  RequestFramer framer_;
  std::deque<Item> items_;
  bool serving_ = false;    // the connection's fiber runs
  bool last_seen_ = false;  // a request or refusal that ends the connection is queued
  bool peer_done_ = false;  // the client closed its side
  bool lingering_ = false;  // our side is shut; reading until the client closes
  bool reading_ = true;
  bool watching_write_ = false;
  bool reading_watched_ = true;
  std::string out_;
  std::size_t out_pos_ = 0;
  Fiber* waiting_ = nullptr;  // the fiber waiting for room
  Clock::time_point request_started_;
  Clock::time_point last_activity_;
  Clock::time_point last_write_progress_;
};

}  // namespace common::edge
