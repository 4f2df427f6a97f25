// Internal: the Pistache Http::Handler. Every byte a client sends goes
// through RequestFramer (RFC 9112 checks, limits, pipelining, Expect, chunked
// bodies) before Pistache's own parser sees a rewritten, well-formed request;
// requests are then routed one at a time per connection (Connection).
#pragma once

#include <pistache/http.h>
#include <pistache/router.h>

#include <memory>

#include "edge/request_framer.hpp"
#include "http_server.hpp"

namespace common::edge {

class GuardedHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(GuardedHandler)

  GuardedHandler(std::shared_ptr<Pistache::Rest::Router> router, FramerLimits limits)
      : router_(std::move(router)), limits_(limits) {}

  // Not reached: onInput routes through the connection's queue instead.
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

 private:
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  std::shared_ptr<Pistache::Rest::Router> router_;
  FramerLimits limits_;
};

}  // namespace common::edge
