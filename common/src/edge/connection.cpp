// Per-connection order of requests and responses.
#include "edge/connection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/request_id.hpp"
#include "edge/response_wire.hpp"
#include "edge/socket_writer.hpp"

namespace common::edge {
namespace {

using namespace std::chrono_literals;

thread_local std::optional<Exchange> routing_exchange;
thread_local bool routing_taken = false;

// A client that takes no byte of a stream for this long is cut (nginx's
// send_timeout is 60 s).
constexpr auto kStallTimeout = 30s;
// Earlier responses on the connection still queued in Pistache: they are
// small and normally gone within microseconds.
constexpr auto kQueuedWritesTimeout = 10s;
// Below Pistache's header timeout (10 s), with room to spare.
constexpr auto kTimeoutRefresh = 2s;

bool has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

}  // namespace

void Exchange::respond(const Response& response, const std::string& request_id,
                       bool force_close) const {
  bool closing = close || force_close;
  if (response.stream && !head && has_body(response.status)) {
    closing = closing || http10;  // an HTTP/1.0 body ends with the connection
    bool complete = connection->stream(response_wire(response, request_id, false, closing, http10),
                                       response.stream, http10, closing);
    connection->finished(closing || !complete);
    return;
  }
  connection->send(response_wire(response, request_id, head, closing, http10), closing);
  connection->finished(closing);
}

void Connection::push(Item item) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_.load()) return;
  queue_.push_back(std::move(item));
}

void Connection::push_request(Pistache::Http::Request request, bool head, bool close,
                              std::string query) {
  Item item;
  item.kind = Item::Kind::request;
  item.request = std::move(request);
  item.head = head;
  item.close = close;
  item.http10 = item.request.version() == Pistache::Http::Version::Http10;
  item.query = std::move(query);
  push(std::move(item));
}

void Connection::push_continue() {
  Item item;
  item.kind = Item::Kind::interim;
  push(std::move(item));
}

void Connection::push_refusal(const Refusal& refusal, const std::string& client_request_id) {
  Item item;
  item.kind = Item::Kind::refusal;
  item.refusal = fail(refusal.status, refusal.message);
  // The client's id when its headers got that far, so nginx's log and ours agree.
  item.request_id = is_valid_request_id(client_request_id) ? client_request_id : new_request_id();
  push(std::move(item));
}

void Connection::pump() {
  // A response sent synchronously from inside run() calls pump() again: the
  // loop below picks the next item up instead of recursing once per request.
  thread_local Connection* active = nullptr;
  if (active == this) return;
  Connection* outer = active;
  active = this;
  for (;;) {
    Item item;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (busy_ || closed_.load() || queue_.empty()) {
        if (!busy_ && queue_.empty() && !reading_.load()) {
          if (auto peer = peer_.lock()) peer->setIdle(true);  // keep-alive timeout from here
        }
        break;
      }
      item = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    run(item);
  }
  active = outer;
}

void Connection::run(Item& item) {
  switch (item.kind) {
    case Item::Kind::interim:
      send(continue_wire(), false);
      finished(false);
      return;
    case Item::Kind::refusal: {
      RequestIdScope log_scope(item.request_id);
      auto peer = peer_.lock();
      spdlog::warn("refused a request from {}: {} {}", peer ? peer->address().host() : "?",
                   item.refusal.status, item.refusal.body);
      send(response_wire(item.refusal, item.request_id, false, true), true);
      finished(true);
      return;
    }
    case Item::Kind::request: {
      Exchange exchange{shared_from_this(), item.head, item.close, item.http10,
                        std::move(item.query)};
      route_(item.request, exchange);
      return;
    }
  }
}

void Connection::send(std::string wire, bool close) {
  auto peer = peer_.lock();
  if (!peer) return;  // the client went away
  {
    std::lock_guard<std::mutex> lock(io_mutex_);
    if (gone_) return;
    // Straight to the socket when nothing of this connection waits in
    // Pistache's queue: Pistache always queues, even on its own thread, and
    // each queued write costs a wake-up of the event loop and two epoll_ctl
    // calls; from a worker thread, a hand-off too. What the socket does not
    // take at once goes through Pistache's queue, after these bytes.
    if (queued_writes_ == 0) {
      int fd = peer->fd();
      ssize_t sent = ::send(fd, wire.data(), wire.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent == static_cast<ssize_t>(wire.size())) {
        if (close) ::shutdown(fd, SHUT_WR);  // the end of the stream for the client
        return;
      }
      if (sent > 0) wire.erase(0, static_cast<std::size_t>(sent));
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;  // reset
    }
    ++queued_writes_;
  }
  auto size = wire.size();
  std::weak_ptr<Connection> weak_self = shared_from_this();
  std::weak_ptr<Pistache::Tcp::Peer> weak_peer = peer;
  auto written = [weak_self, weak_peer, close] {
    auto self = weak_self.lock();
    if (!self) return;
    {
      std::lock_guard<std::mutex> lock(self->io_mutex_);
      --self->queued_writes_;
    }
    self->writes_done_.notify_all();
    // The client sees the end of the stream once the response is out.
    if (!close) return;
    if (auto alive = weak_peer.lock()) ::shutdown(alive->fd(), SHUT_WR);
  };
  peer->send(Pistache::RawBuffer(std::move(wire), size))
      .then([written](ssize_t) { written(); }, [written](std::exception_ptr) { written(); });
}

bool Connection::wait_for_queued_writes(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(io_mutex_);
  return writes_done_.wait_for(lock, timeout, [this] { return queued_writes_ == 0 || gone_; }) &&
         !gone_;
}

void Connection::keep_timeouts_fresh(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  // Pistache times a connection from its parser's last reset, and only its
  // reactor thread may touch the parser: an empty write is run there, and so
  // is what follows it (unless it settled before then() was attached, hence
  // the thread check).
  std::weak_ptr<Connection> weak_self = shared_from_this();
  std::weak_ptr<Pistache::Tcp::Peer> weak_peer = peer;
  peer->send(Pistache::RawBuffer(std::string(), 0))
      .then(
          [weak_self, weak_peer](ssize_t) {
            auto self = weak_self.lock();
            auto alive = weak_peer.lock();
            if (!self || !alive || std::this_thread::get_id() != self->reactor_thread_.load())
              return;
            if (self->framer_.mid_request()) return;  // that request's own timeout runs
            Pistache::Http::Handler::getParser(alive)->reset();
          },
          Pistache::Async::IgnoreException);
}

void Connection::cut(int fd) {
  std::lock_guard<std::mutex> lock(io_mutex_);
  if (!gone_) ::shutdown(fd, SHUT_RDWR);  // Pistache then sees the end and closes it
  closed_.store(true);
}

bool Connection::stream(const std::string& head_wire,
                        const std::function<bool(std::string&)>& produce, bool http10, bool close) {
  auto peer = peer_.lock();
  if (!peer) return false;
  int fd = peer->fd();
  // Bytes of earlier responses still queued in Pistache must go out first.
  if (!wait_for_queued_writes(kQueuedWritesTimeout)) {
    spdlog::warn("stream not started: earlier responses on the connection are still unsent");
    cut(fd);
    return false;
  }
  auto send_some = [this, fd](const char* data, std::size_t size) -> ssize_t {
    std::lock_guard<std::mutex> lock(io_mutex_);
    if (gone_) {
      errno = EPIPE;
      return -1;
    }
    return ::send(fd, data, size, MSG_NOSIGNAL);
  };
  std::string out = head_wire;
  std::string piece;
  auto refreshed = std::chrono::steady_clock::now();
  bool more = true;
  try {
    for (;;) {
      auto result = write_all(fd, out, send_some, kStallTimeout);
      if (result != WriteResult::done) {
        spdlog::warn("streamed response cut: {}", result == WriteResult::stalled
                                                      ? "the client read nothing for 30 s"
                                                      : "the client is gone");
        cut(fd);
        return false;
      }
      if (!more) {
        std::lock_guard<std::mutex> lock(io_mutex_);
        if (close && !gone_) ::shutdown(fd, SHUT_WR);  // the end of the body, for HTTP/1.0
        return true;
      }
      if (std::chrono::steady_clock::now() - refreshed > kTimeoutRefresh) {
        keep_timeouts_fresh(peer);
        refreshed = std::chrono::steady_clock::now();
      }
      piece.clear();
      more = produce(piece);
      out.clear();
      append_chunk(out, piece, http10);
      if (!more) append_last_chunk(out, http10);
    }
  } catch (const std::exception& error) {
    spdlog::error("streamed response cut: {}", error.what());
  } catch (...) {
    spdlog::error("streamed response cut by a non-standard exception");
  }
  cut(fd);
  return false;
}

void Connection::disconnected() {
  {
    std::lock_guard<std::mutex> lock(io_mutex_);
    gone_ = true;
  }
  writes_done_.notify_all();
  std::lock_guard<std::mutex> lock(mutex_);
  closed_.store(true);
  queue_.clear();
}

void Connection::finished(bool close) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    busy_ = false;
    if (close) {
      closed_.store(true);
      queue_.clear();
    }
  }
  pump();
}

RoutingScope::RoutingScope(const Exchange& exchange) : previous_(std::move(routing_exchange)) {
  routing_exchange = exchange;
  routing_taken = false;
}

RoutingScope::~RoutingScope() {
  routing_exchange = std::move(previous_);
}

bool RoutingScope::taken() const {
  return routing_taken;
}

std::optional<Exchange> RoutingScope::take() {
  if (!routing_exchange || routing_taken) return std::nullopt;
  routing_taken = true;
  return routing_exchange;
}

}  // namespace common::edge
