// One client connection on its loop.
#include "edge/http_connection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/request_id.hpp"
#include "edge/response_wire.hpp"

namespace common::edge {
namespace {

// Requests read ahead of their answers (pipelining): beyond, the connection
// is not read until the fiber catches up, so a flood costs bounded memory.
constexpr std::size_t kMaxQueued = 16;
// Reads per readiness event: a client that sends without pause does not
// keep the loop from its other connections.
constexpr int kReadsPerEvent = 4;

// One warning a second at most, however many connections are shed.
bool time_to_warn_of_shedding() {
  static std::atomic<long long> last_warning{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_warning.load();
  return now - last > std::chrono::nanoseconds(std::chrono::seconds(1)).count() &&
         last_warning.compare_exchange_strong(last, now);
}

// An answer the connection ends after: a refusal, or a 503 for want of a fiber.
WireOptions closing_wire(const ServerState& state) {
  WireOptions wire;
  wire.close = true;
  wire.defaults = &state.default_headers;
  return wire;
}

}  // namespace

HttpConnection::HttpConnection(EventLoop& loop, std::function<void(int fd)> on_closed,
                               ServerState& state, int fd, std::string peer_address)
    : loop_(loop),
      on_closed_(std::move(on_closed)),
      state_(state),
      fd_(fd),
      peer_address_(std::move(peer_address)),
      framer_(state.limits) {
  auto now = Clock::now();
  request_started_ = last_activity_ = last_write_progress_ = now;
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void HttpConnection::start() {
  loop_.watch(fd_, true, false, [this](std::uint32_t events) {
    auto self = shared_from_this();  // close() may drop the set's reference
    on_event(events);
  });
}

void HttpConnection::on_event(std::uint32_t events) {
  if (events & EventLoop::kWritable) on_writable();
  if (closed()) return;
  if (events & (EventLoop::kReadable | EventLoop::kError)) on_readable();
}

void HttpConnection::on_readable() {
  bool client_closed = false;
  char buffer[65536];
  for (int i = 0; i < kReadsPerEvent; ++i) {
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got > 0) {
      last_activity_ = Clock::now();
      // After a request that ends the connection, and while lingering, what
      // the client still sends is read and dropped (RFC 9112 9.6).
      if (phase_ == Phase::reading || phase_ == Phase::paused) {
        if (!framer_.mid_request()) request_started_ = last_activity_;
        framer_.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
      }
      if (static_cast<std::size_t>(got) < sizeof buffer) break;
      continue;
    }
    if (got == 0) {
      client_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close();  // reset by the peer
    return;
  }
  if (phase_ == Phase::reading || phase_ == Phase::paused) queue_events();
  if (client_closed) {
    if (phase_ == Phase::lingering || (!serving_ && items_.empty())) {
      close();
      return;
    }
    phase_ = Phase::half_closed;
    update_interest();
  }
  pump();
}

// Takes what the parser has, up to kMaxQueued items: requests beyond stay in
// its buffer (and the socket unread) until the fiber has answered some.
void HttpConnection::queue_events() {
  while (items_.size() < kMaxQueued) {
    auto event = framer_.next();
    if (event == RequestFramer::Event::need_more) break;
    Item item;
    if (event == RequestFramer::Event::continue_100) {
      item.kind = Item::Kind::interim;
      items_.push_back(std::move(item));
      continue;
    }
    if (event == RequestFramer::Event::refused) {
      refuse(framer_.refusal());
      break;
    }
    item.request = framer_.take_request();
    bool close = item.request.close;
    items_.push_back(std::move(item));
    if (close) {
      end_after_queued();
      break;
    }
  }
  if (phase_ == Phase::reading && items_.size() >= kMaxQueued) {
    phase_ = Phase::paused;
    update_interest();
  }
}

void HttpConnection::end_after_queued() {
  if (phase_ != Phase::reading && phase_ != Phase::paused) return;
  phase_ = Phase::ending;
  update_interest();
}

bool HttpConnection::last_is_queued() const {
  return phase_ == Phase::ending || phase_ == Phase::half_closed;
}

bool HttpConnection::wants_read() const {
  return phase_ == Phase::reading || phase_ == Phase::ending || phase_ == Phase::lingering;
}

void HttpConnection::refuse(const Refusal& refusal) {
  Item item;
  item.kind = Item::Kind::refusal;
  item.refusal = refusal;
  // The client's id when its headers got that far, so nginx's log and ours agree.
  const auto& id = framer_.client_request_id();
  item.request_id = is_valid_request_id(id) ? id : new_request_id();
  items_.push_back(std::move(item));
  end_after_queued();
}

void HttpConnection::pump() {
  if (serving_ || items_.empty() || closed()) return;
  serving_ = true;
  auto self = shared_from_this();
  try {
    loop_.spawn([self] { self->serve(); });
  } catch (const std::exception& error) {
    // No fiber (the stacks' bound, or the kernel refused one): this
    // connection is shed now. Left "serving" it would never be answered,
    // and the sweep never times out a serving connection.
    serving_ = false;
    shed(error.what());
  }
}

void HttpConnection::shed(const char* why) {
  // The client's id when it sent a valid one, so nginx's log and ours agree.
  std::string request_id;
  if (!items_.empty() && items_.front().kind == Item::Kind::request) {
    request_id = items_.front().request.client_request_id;
  }
  if (!is_valid_request_id(request_id)) request_id = new_request_id();
  items_.clear();
  end_after_queued();
  RequestIdScope scope(request_id);
  if (time_to_warn_of_shedding()) {
    spdlog::warn("no fiber for a request from {} ({}): answered 503 and closed", peer_address_,
                 why);
  }
  Response response = fail(503, "Too many requests at once. Please try again shortly.");
  response.headers.emplace_back("Retry-After", "1");
  write(response_wire(response, request_id, closing_wire(state_)));
  if (!closed()) finish_after_last();
}

void HttpConnection::serve() {
  while (!closed() && !items_.empty()) {
    Item item = std::move(items_.front());
    items_.pop_front();
    if (items_.size() < kMaxQueued / 2) {
      queue_events();  // what the parser still holds comes first (also once half-closed)
      if (phase_ == Phase::paused && items_.size() < kMaxQueued / 2) {
        phase_ = Phase::reading;
        update_interest();
      }
    }
    switch (item.kind) {
      case Item::Kind::interim:
        write(continue_wire());
        break;
      case Item::Kind::refusal:
        answer_refusal(item);
        break;
      case Item::Kind::request:
        if (!dispatch(*this, state_, item.request, peer_address_)) {
          end_after_queued();
          items_.clear();  // RFC 9112 9.6: nothing after a closing answer is answered
        }
        break;
    }
  }
  serving_ = false;
  if (last_is_queued() && items_.empty()) finish_after_last();
}

void HttpConnection::answer_refusal(const Item& item) {
  RequestIdScope scope(item.request_id);
  Response response = fail(item.refusal.status, item.refusal.message);
  spdlog::warn("refused a request from {}: {} {}", peer_address_, response.status, response.body);
  write(response_wire(response, item.request_id, closing_wire(state_)));
  end_after_queued();
  items_.clear();
}

// The last answer is queued: once it is out, our side is shut and the
// client's remaining bytes are read and dropped until it closes (or the
// linger timeout), so that a client still sending never gets a reset that
// would destroy the answer before it read it.
void HttpConnection::finish_after_last() {
  if (out_pos_ < out_.size()) return;  // on_writable comes back here
  if (!last_is_queued()) return;
  bool client_closed = phase_ == Phase::half_closed;
  phase_ = Phase::lingering;
  ::shutdown(fd_, SHUT_WR);
  if (client_closed) {
    close();
    return;
  }
  last_activity_ = Clock::now();
  update_interest();
}

// Sends what the socket takes now; false (and the connection closed) when
// the peer is gone.
bool HttpConnection::send_now(std::string_view& bytes) {
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      last_write_progress_ = Clock::now();
    } else if (sent < 0 && errno == EAGAIN) {
      return true;
    } else if (sent == 0 || errno != EINTR) {
      close();
      return false;
    }
  }
  return true;
}

bool HttpConnection::write(std::string_view bytes) {
  if (closed()) return false;
  if (out_pos_ == out_.size()) {  // nothing queued: straight to the socket
    out_.clear();
    out_pos_ = 0;
    if (!send_now(bytes)) return false;
    if (bytes.empty()) return true;
    last_write_progress_ = Clock::now();  // the stall clock starts now
  }
  out_.append(bytes);
  update_interest();
  return true;
}

bool HttpConnection::wait_for_room(std::size_t limit) {
  while (!closed() && out_.size() - out_pos_ > limit) {
    waiting_ = Fiber::current();
    Fiber::suspend();
    waiting_ = nullptr;
  }
  return !closed();
}

void HttpConnection::flush() {
  std::string_view pending(out_);
  pending.remove_prefix(out_pos_);
  if (!send_now(pending)) return;
  out_pos_ = out_.size() - pending.size();
  if (pending.empty()) {
    out_.clear();
    out_pos_ = 0;
  } else if (out_pos_ > (1u << 20)) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
}

void HttpConnection::on_writable() {
  flush();
  if (closed()) return;
  update_interest();
  if (waiting_) loop_.wake(waiting_);
  if (out_pos_ == out_.size() && !serving_ && last_is_queued() && items_.empty()) {
    finish_after_last();
  }
}

void HttpConnection::update_interest() {
  if (closed()) return;
  bool write = out_pos_ < out_.size();
  bool read = wants_read();
  if (write == watching_write_ && read == watching_read_) return;
  watching_write_ = write;
  watching_read_ = read;
  loop_.rewatch(fd_, read, write);
}

void HttpConnection::sweep(Clock::time_point now) {
  if (closed()) return;
  if (phase_ == Phase::lingering) {
    if (now - last_activity_ > state_.linger_timeout) close();
    return;
  }
  if (out_pos_ < out_.size() && now - last_write_progress_ > state_.stall_timeout) {
    spdlog::warn("connection from {} cut: the client read nothing for {} s", peer_address_,
                 std::chrono::duration_cast<std::chrono::seconds>(state_.stall_timeout).count());
    close();
    return;
  }
  if (serving_ || !items_.empty() || phase_ != Phase::reading) return;
  if (framer_.mid_request()) {
    auto limit = framer_.in_body() ? state_.body_timeout : state_.header_timeout;
    if (now - request_started_ > limit) {
      refuse({408, "Request timeout."});
      pump();
    }
    return;
  }
  bool draining = state_.draining && state_.draining->load();
  if (draining || now - last_activity_ > state_.keepalive_timeout) close();
}

void HttpConnection::close() {
  if (fd_ < 0) return;
  int fd = fd_;
  loop_.unwatch(fd);
  ::close(fd);
  fd_ = -1;
  phase_ = Phase::closed;
  items_.clear();
  if (waiting_) loop_.wake(waiting_);
  on_closed_(fd);  // may drop the last reference but the caller's
}

}  // namespace common::edge
