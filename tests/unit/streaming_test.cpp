// Streamed bodies (Response::stream) over raw sockets: chunked on the wire,
// every byte in order whatever the client's reading pace, nothing
// complete-looking when the producer fails, and no Pistache timeout cutting a
// stream that outlasts it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/app.hpp"
#include "common/blueprint.hpp"
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
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
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
        // 12 s: past Pistache's 10 s header timeout.
        .get("/slow", [](const common::Request&) { return streamed(48, 100, -1, 250ms); });
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

TEST_F(Streaming, LongerThanPistachesHeaderTimeout_NotCut) {
  HttpConnection connection("127.0.0.1", port(), 30s);
  auto response = connection.request("GET", "/slow");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, expected_body(48, 100));
  EXPECT_EQ(connection.request("GET", "/ping").status, 200);
}

}  // namespace
