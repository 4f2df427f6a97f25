// Internal: one client connection's requests, answered one at a time and in
// order. Pistache 0.0.5 drops every request after the first in a read
// (pipelining) and has no per-connection order once handlers run on a worker
// pool: here requests queue up, the next is routed only when the previous
// response is on its way, and a response that closes the connection drops
// what is still queued (RFC 9112 9.3.2). A streamed body is written straight
// to the socket by the handler's thread (edge/socket_writer.hpp says why).
#pragma once

#include <pistache/http.h>
#include <pistache/peer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/http.hpp"
#include "edge/request_framer.hpp"

namespace common::edge {

class Connection;

// The answer slot of one routed request; answered exactly once.
struct Exchange {
  std::shared_ptr<Connection> connection;
  bool head = false;
  bool close = false;   // the client will send nothing more
  bool http10 = false;  // no chunked coding for this client
  // The request target's query as sent: Pistache keeps only a map of it,
  // which loses repeated parameters.
  std::string query;

  // Sends the response, then lets the connection move to its next request.
  void respond(const Response& response, const std::string& request_id,
               bool force_close = false) const;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Routes a request; must lead to exactly one Exchange::respond.
  using Route = std::function<void(const Pistache::Http::Request&, const Exchange&)>;

  Connection(std::weak_ptr<Pistache::Tcp::Peer> peer, FramerLimits limits, Route route)
      : peer_(std::move(peer)), framer_(limits), route_(std::move(route)) {}

  // Reactor thread only.
  RequestFramer& framer() { return framer_; }
  void push_request(Pistache::Http::Request request, bool head, bool close, std::string query);
  void push_continue();
  void push_refusal(const Refusal& refusal, const std::string& client_request_id);
  // Whether a request's bytes are partly read (then Pistache's header and
  // body timeouts apply; otherwise its keep-alive timeout).
  void set_reading(bool reading) { reading_.store(reading); }

  // Reactor thread: the client is gone and Pistache is about to close the
  // socket, whose number may then be reused by a new connection.
  void disconnected();
  void set_reactor_thread(std::thread::id id) { reactor_thread_.store(id); }

  // Runs what is queued, in order, while nothing is in flight. Any thread.
  void pump();
  bool closed() const { return closed_.load(); }

  // Used by Exchange::respond.
  void send(std::string wire, bool close);
  // Writes the head, then every piece `produce` makes, chunked (then ends the
  // stream when `close`); false when the
  // connection was cut on the way (the client stalled or left, or `produce`
  // threw). Blocks the calling (worker) thread while the client reads.
  bool stream(const std::string& head_wire, const std::function<bool(std::string&)>& produce,
              bool http10, bool close);
  void finished(bool close);

 private:
  struct Item {
    enum class Kind { request, interim, refusal } kind = Kind::request;
    Pistache::Http::Request request;
    bool head = false;
    bool close = false;
    bool http10 = false;
    std::string query;
    Response refusal;
    std::string request_id;
  };
  void push(Item item);
  void run(Item& item);
  bool wait_for_queued_writes(std::chrono::milliseconds timeout);
  // Keeps Pistache from timing the connection out (a 408 after its header
  // timeout) while a long stream is written past it.
  void keep_timeouts_fresh(const std::shared_ptr<Pistache::Tcp::Peer>& peer);
  void cut(int fd);

  std::weak_ptr<Pistache::Tcp::Peer> peer_;
  RequestFramer framer_;
  Route route_;
  std::mutex mutex_;
  std::deque<Item> queue_;
  bool busy_ = false;  // an item is in flight
  std::atomic<bool> closed_{false};
  std::atomic<bool> reading_{false};
  std::atomic<std::thread::id> reactor_thread_{};
  // Guards the socket against reuse: gone_ is set before Pistache closes it,
  // and direct writes check it under the same lock.
  std::mutex io_mutex_;
  std::condition_variable writes_done_;
  bool gone_ = false;
  int queued_writes_ = 0;  // handed to Pistache, not yet written
};

// Hands the exchange of the request being routed to the dispatcher: set
// around Router::route, which calls the route's handler on the same thread.
class RoutingScope {
 public:
  explicit RoutingScope(const Exchange& exchange);
  ~RoutingScope();
  RoutingScope(const RoutingScope&) = delete;
  RoutingScope& operator=(const RoutingScope&) = delete;
  bool taken() const;
  // The exchange of the request being routed on this thread, once.
  static std::optional<Exchange> take();

 private:
  std::optional<Exchange> previous_;
};

}  // namespace common::edge
