// Streamed bodies (Response::stream) over raw sockets: chunked on the wire,
// every byte in order whatever the client's reading pace, nothing
// complete-looking when the producer fails, no timeout cutting a stream that
// outlasts it, and no slow reader or slow producer holding up the other
// connections of its event loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/app.hpp"
#include "common/blueprint.hpp"
#include "common/event_loop.hpp"
#include "common/json_response.hpp"
#include "common/logging.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

using namespace std::chrono_literals;
using support::HttpConnection;

// Piece i is `size` bytes of the letter 'a' + i % 26, so order is checkable.
std::string expected_body(int pieces, std::size_t size) {
  std::string body;
  for (int i = 0; i < pieces; ++i) body.append(size, static_cast<char>('a' + i % 26));
  return body;
}

common::Response streamed(int pieces, std::size_t size, int fail_after = -1,
                          std::chrono::milliseconds pause = 0ms) {
  common::Response response;
  auto next = std::make_shared<int>(0);
  response.stream = [=](std::string& piece) {
    if (*next == fail_after) throw std::runtime_error("the database went away");
    if (pause.count() > 0) common::sleep_for(pause);  // suspends the fiber, not the loop
    piece.append(size, static_cast<char>('a' + *next % 26));
    return ++*next < pieces;
  };
  return response;
}

class StreamingBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes
        .get("/ping", [](const common::Request&) { return common::success_message(200, "pong!"); })
        .get("/small", [](const common::Request&) { return streamed(3, 10); })
        // 24 MiB: far more than the socket buffers hold, so writes meet EAGAIN.
        .get("/large", [](const common::Request&) { return streamed(384, 65536); })
        .get("/broken", [](const common::Request&) { return streamed(100, 65536, 3); })
        // 12 s: past the 10 s header timeout.
        .get("/slow", [](const common::Request&) { return streamed(48, 100, -1, 250ms); })
        // 3 s in three pauses of a second: a loop blocked by one would be seen.
        .get("/pausing", [](const common::Request&) { return streamed(3, 100, -1, 1000ms); });
  }
};

class Streaming : public unit::AppSuite<Streaming> {
 protected:
  static void SetUpTestSuite() {
    auto config = unit::test_config();
    common::setup_logging(config);
    auto app = std::make_unique<common::App>(config);
    app->mount(std::make_shared<StreamingBlueprint>());
    serve(std::move(app));
  }
};

TEST_F(Streaming, Chunked_NoContentLength_WholeBodyInOrder) {
  HttpConnection connection("127.0.0.1", port(), 5s);
  auto response = connection.request("GET", "/small");
  EXPECT_EQ(response.status, 200);
  EXPECT_TRUE(unit::iequals(response.header("Transfer-Encoding"), "chunked"));
  EXPECT_FALSE(response.has_header("Content-Length"));
  EXPECT_EQ(response.body, expected_body(3, 10));
  // The connection stays usable after the last chunk.
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
}

TEST_F(Streaming, LargerThanSocketBuffers_SlowReader_EveryByteArrives) {
  HttpConnection connection("127.0.0.1", port(), 60s);
  connection.send_raw("GET /large HTTP/1.1\r\nHost: x\r\n\r\n");
  // Let the service fill the socket buffers and wait for room (EAGAIN) first.
  std::this_thread::sleep_for(500ms);
  auto response = connection.read_response();
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(response.body.size(), 384u * 65536u);
  EXPECT_TRUE(response.body == expected_body(384, 65536)) << "bytes out of order or lost";
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
}

TEST_F(Streaming, PipelinedAroundAStream_AllAnsweredInOrder) {
  HttpConnection connection("127.0.0.1", port(), 10s);
  std::string get_ping = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
  connection.send_raw(get_ping + "GET /small HTTP/1.1\r\nHost: x\r\n\r\n" + get_ping);
  EXPECT_EQ(connection.read_response().body, R"({"message":"pong!","status":"success"})");
  EXPECT_EQ(connection.read_response().body, expected_body(3, 10));
  EXPECT_EQ(connection.read_response().body, R"({"message":"pong!","status":"success"})");
}

TEST_F(Streaming, Head_HeadersOnly_ThenTheNextRequest) {
  auto exchange = unit::head_then_ping(port(), "/small");
  EXPECT_EQ(unit::status_of(exchange.head), 200) << exchange.head;
  EXPECT_NE(exchange.head.find("Transfer-Encoding: chunked"), std::string::npos) << exchange.head;
  EXPECT_EQ(exchange.after.rfind("HTTP/1.1 200 ", 0), 0u) << exchange.after.substr(0, 200);
}

TEST_F(Streaming, Http10Client_NoChunkedCoding_BodyEndsWithTheConnection) {
  HttpConnection connection("127.0.0.1", port(), 5s);
  connection.send_raw("GET /small HTTP/1.0\r\n\r\n");
  auto raw = unit::recv_to_eof(connection.fd(), 5s);
  auto end = raw.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << raw;
  std::string head = raw.substr(0, end);
  EXPECT_EQ(unit::status_of(raw), 200);
  EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
  EXPECT_EQ(raw.substr(end + 4), expected_body(3, 10));
}

TEST_F(Streaming, ProducerFails_ConnectionCutWithoutTheLastChunk_ServiceStaysUp) {
  HttpConnection connection("127.0.0.1", port(), 10s);
  connection.send_raw("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n");
  auto raw = unit::recv_to_eof(connection.fd(), 10s);
  EXPECT_EQ(unit::status_of(raw), 200);
  // Three pieces made it; the terminating zero-size chunk never comes.
  EXPECT_LT(raw.size(), 4u * 65536u);
  EXPECT_EQ(raw.find("\r\n0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(support::http_request(port(), "GET", "/ping").status, 200);
}

TEST_F(Streaming, LongerThanTheHeaderTimeout_NotCut) {
  HttpConnection connection("127.0.0.1", port(), 30s);
  auto response = connection.request("GET", "/slow");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, expected_body(48, 100));
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
}

// One event loop only: every connection below shares it.
class OneLoop : public unit::AppSuite<OneLoop> {
 protected:
  static void SetUpTestSuite() {
    auto config = unit::test_config({{"THREADS", "1"}});
    common::setup_logging(config);
    auto app = std::make_unique<common::App>(config);
    app->mount(std::make_shared<StreamingBlueprint>());
    serve(std::move(app));
  }

  // The slowest of `count` GET /ping, each on a connection of its own.
  static std::chrono::milliseconds slowest_ping(int count) {
    std::chrono::milliseconds slowest{0};
    for (int i = 0; i < count; ++i) {
      auto started = std::chrono::steady_clock::now();
      EXPECT_EQ(support::http_request(port(), "GET", "/ping").status, 200);
      slowest = std::max(slowest, std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started));
    }
    return slowest;
  }
};

TEST_F(OneLoop, ClientThatReadsNothing_OthersOnTheLoopAreServed) {
  HttpConnection stalled("127.0.0.1", port(), 60s);
  stalled.send_raw("GET /large HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(300ms);  // its socket buffers are full by now
  EXPECT_LT(slowest_ping(20), 1000ms);
  // It was only waiting: it gets every byte once it reads.
  auto response = stalled.read_response();
  ASSERT_EQ(response.body.size(), 384u * 65536u);
  EXPECT_TRUE(response.body == expected_body(384, 65536));
}

TEST_F(OneLoop, SlowProducer_OthersOnTheLoopAreServed) {
  HttpConnection slow("127.0.0.1", port(), 30s);
  slow.send_raw("GET /pausing HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  for (int round = 0; round < 10; ++round) {
    EXPECT_LT(slowest_ping(5), 500ms);
    std::this_thread::sleep_for(150ms);
  }
  EXPECT_EQ(slow.read_response().body, expected_body(3, 100));
}

TEST_F(OneLoop, IdleAndHalfSentConnections_OthersOnTheLoopAreServed) {
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<HttpConnection>("127.0.0.1", port(), 5s));
    if (i % 2) idle.back()->send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  EXPECT_LT(slowest_ping(20), 1000ms);
}

}  // namespace
