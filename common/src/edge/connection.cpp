// Per-connection order of requests and responses.
#include "edge/connection.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "common/json_response.hpp"
#include "common/log_context.hpp"
#include "common/request_id.hpp"
#include "edge/response_wire.hpp"

namespace common::edge {
namespace {

thread_local std::optional<Exchange> routing_exchange;
thread_local bool routing_taken = false;

}  // namespace

void Exchange::respond(const Response& response, const std::string& request_id,
                       bool force_close) const {
  bool closing = close || force_close;
  connection->send(response_wire(response, request_id, head, closing), closing);
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
      Exchange exchange{shared_from_this(), item.head, item.close, std::move(item.query)};
      route_(item.request, exchange);
      return;
    }
  }
}

void Connection::send(std::string wire, bool close) {
  auto peer = peer_.lock();
  if (!peer) return;  // the client went away
  auto size = wire.size();
  auto sent = peer->send(Pistache::RawBuffer(std::move(wire), size));
  if (close) {
    // The client sees the end of the stream once the response is out.
    std::weak_ptr<Pistache::Tcp::Peer> weak_peer = peer;
    sent.then(
        [weak_peer](ssize_t) {
          if (auto alive = weak_peer.lock()) ::shutdown(alive->fd(), SHUT_WR);
        },
        Pistache::Async::IgnoreException);
  }
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
