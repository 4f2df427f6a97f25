// Bytes in, checked requests out, routed in order.
#include "edge/guarded_handler.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include "common/json_response.hpp"
#include "common/request_id.hpp"
#include "edge/connection.hpp"

namespace common::edge {
namespace {

using namespace Pistache;

constexpr const char* kConnectionData = "users.connection";

// Pistache times a request from its parser's last reset, and applies the
// body timeout only while the parser is in its body step. The framer reads
// the body, so the parser is put in that step by hand while it does.
void enter_body_step(Http::RequestParser& parser) {
  if (parser.step()->id() == Http::Private::BodyStep::Id) return;
  static const char kHead[] = "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n";
  parser.feed(kHead, sizeof kHead - 1);
  parser.parse();
}

}  // namespace

void GuardedHandler::onRequest(const Http::Request& request, Http::ResponseWriter response) {
  router_->route(request, std::move(response));
}

void GuardedHandler::onInput(const char* buffer, size_t len,
                             const std::shared_ptr<Tcp::Peer>& peer) {
  auto data = peer->tryGetData(kConnectionData);
  if (!data) {
    std::weak_ptr<Tcp::Peer> weak_peer = peer;
    auto route = [router = router_, transport = transport(), handler = this, weak_peer](
                     const Http::Request& request, const Exchange& exchange) {
      RoutingScope scope(exchange);
      try {
        router->route(request,
                      Http::ResponseWriter(request.version(), transport, handler, weak_peer));
      } catch (const std::exception& error) {
        spdlog::error("routing failed: {}", error.what());
      }
      if (!scope.taken()) exchange.respond(fail(500, "Internal server error."), new_request_id());
    };
    data = std::make_shared<Connection>(peer, limits_, std::move(route));
    peer->putData(kConnectionData, data);
  }
  auto connection = std::static_pointer_cast<Connection>(data);
  connection->set_reactor_thread(std::this_thread::get_id());
  auto& framer = connection->framer();
  if (connection->closed() || framer.stopped()) return;  // what follows a last request is dropped

  auto parser = getParser(peer);
  if (!framer.mid_request()) parser->reset();  // a new request: its timeouts start now
  peer->setIdle(false);
  framer.feed(std::string_view(buffer, len));
  for (auto event = framer.next(); event != RequestFramer::Event::need_more;
       event = framer.next()) {
    if (event == RequestFramer::Event::continue_100) {
      connection->push_continue();
      continue;
    }
    if (event == RequestFramer::Event::refused) {
      connection->push_refusal(framer.refusal(), framer.client_request_id());
      continue;
    }
    auto framed = framer.take_request();
    // What the framer passes, Pistache's parser reads in one go; it still
    // refuses what it cannot type (a malformed Content-Type, for one).
    try {
      parser->reset();
      if (!parser->feed(framed.wire.data(), framed.wire.size()) ||
          parser->parse() != Http::Private::State::Done) {
        throw std::runtime_error("incomplete after framing");
      }
      Http::Request request = parser->request;
      request.copyAddress(peer->address());
      parser->reset();
      auto mark = framed.target.find('?');
      connection->push_request(std::move(request), framed.method == "HEAD", framed.close,
                               mark == std::string::npos ? "" : framed.target.substr(mark + 1));
    } catch (const std::exception& error) {
      spdlog::warn("could not parse a request: {}", error.what());
      parser->reset();
      connection->push_refusal({400, "Malformed HTTP request."}, framed.client_request_id);
      break;
    }
  }
  if (framer.in_body()) enter_body_step(*parser);
  connection->set_reading(framer.mid_request());
  connection->pump();
}

void GuardedHandler::onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) {
  if (auto data = peer->tryGetData(kConnectionData)) {
    std::static_pointer_cast<Connection>(data)->disconnected();
  }
  Http::Handler::onDisconnection(peer);
}

}  // namespace common::edge
