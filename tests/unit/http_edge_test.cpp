// The service's own HTTP/1.1 edge over raw sockets against the real app
// (users::create_app, database unreachable): RFC 9110/9112 behaviour that
// Pistache 0.0.5's HTTP layer gets wrong and common/src/edge/ gets right. Every refusal
// is the service's JSON error with the request id.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "app_factory.hpp"
#include "common/logging.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

using namespace std::chrono_literals;
using support::HttpConnection;
using support::HttpResponse;
using unit::expect_json_fail;
using unit::iequals;

const char* const kPong = R"({"message":"pong!","status":"success"})";

class HttpEdge : public unit::AppSuite<HttpEdge> {
 protected:
  static void SetUpTestSuite() {
    auto config = unit::test_config();
    common::setup_logging(config);
    serve(users::create_app(config));
  }

  // Sends `bytes` on a fresh connection and reads one response.
  static HttpResponse exchange(const std::string& bytes) {
    HttpConnection connection("127.0.0.1", port(), 3s);
    connection.send_raw(bytes);
    return connection.read_response();
  }

  // A refusal: the JSON error, the client's request id, and the connection closed.
  static void expect_refused(const std::string& bytes, int status) {
    SCOPED_TRACE(bytes.substr(0, 80));
    HttpConnection connection("127.0.0.1", port(), 3s);
    connection.send_raw(bytes);
    auto response = connection.read_response();
    expect_json_fail(response, status);
    EXPECT_FALSE(response.header("X-Request-ID").empty());
    EXPECT_TRUE(iequals(response.header("Connection"), "close"));
    EXPECT_TRUE(connection.is_closed_by_peer(2s));
  }
};

// --- Expect: 100-continue (RFC 9110 10.1.1) -------------------------------------------

TEST_F(HttpEdge, ExpectContinue_100AtOnceThenTheFinalAnswer) {
  HttpConnection connection("127.0.0.1", port(), 500ms);  // curl would wait 1 s
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  auto interim = connection.read_response();
  EXPECT_EQ(interim.status, 100);
  connection.send_raw("{}");
  expect_json_fail(connection.read_response(), 400, "Invalid payload.");
  EXPECT_EQ(connection.request("GET", "/ping").body, kPong);
}

TEST_F(HttpEdge, ExpectContinue_BodyOverLimit_413InsteadOf100) {
  expect_refused(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: 8388608\r\n\r\n",
      413);
}

TEST_F(HttpEdge, UnknownExpectation_417) {
  expect_refused("POST /users HTTP/1.1\r\nHost: x\r\nExpect: coffee\r\nContent-Length: 2\r\n\r\n{}",
                 417);
}

// --- pipelining (RFC 9112 9.3.2) ------------------------------------------------------

// Reactor routes, worker-pool routes (/users needs the database) and errors,
// in one packet: every one answered, in the order sent.
TEST_F(HttpEdge, Pipelined_MixedRoutes_AllAnsweredInOrder) {
  const std::vector<std::pair<std::string, int>> requests = {
      {"GET /users HTTP/1.1", 503},    {"GET /ping HTTP/1.1", 200},
      {"GET /users/1 HTTP/1.1", 503},  {"GET /nope HTTP/1.1", 404},
      {"DELETE /users HTTP/1.1", 405}, {"GET /users/abc HTTP/1.1", 400},
      {"GET /ping HTTP/1.1", 200}};
  std::string bytes;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    bytes +=
        requests[i].first + "\r\nHost: x\r\nX-Request-ID: pipe-" + std::to_string(i) + "\r\n\r\n";
  }
  HttpConnection connection("127.0.0.1", port(), 5s);
  connection.send_raw(bytes);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(requests[i].first);
    auto response = connection.read_response();
    EXPECT_EQ(response.header("X-Request-ID"), "pipe-" + std::to_string(i));
    EXPECT_EQ(response.status, requests[i].second);
  }
  EXPECT_FALSE(connection.is_closed_by_peer(100ms));
}

// Far more pipelined requests than the service reads ahead (16): the rest
// wait in the parser's buffer and the socket, and every one is answered in
// order -- also when the client has shut its side after sending them.
TEST_F(HttpEdge, Pipelined_ManyMoreThanTheReadAhead_AllAnsweredInOrder) {
  for (bool half_close : {false, true}) {
    SCOPED_TRACE(half_close ? "half-closed" : "open");
    constexpr int kRequests = 300;
    std::string bytes;
    for (int i = 0; i < kRequests; ++i) {
      bytes +=
          "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: many-" + std::to_string(i) + "\r\n\r\n";
    }
    HttpConnection connection("127.0.0.1", port(), 10s);
    connection.send_raw(bytes);
    if (half_close) ::shutdown(connection.fd(), SHUT_WR);
    for (int i = 0; i < kRequests; ++i) {
      auto response = connection.read_response();
      ASSERT_EQ(response.header("X-Request-ID"), "many-" + std::to_string(i));
      ASSERT_EQ(response.status, 200);
    }
    if (half_close) {
      EXPECT_TRUE(connection.is_closed_by_peer(2s));
    } else {
      EXPECT_FALSE(connection.is_closed_by_peer(100ms));
    }
  }
}

// A closing request deep in a pipeline, read while the connection waits for
// its fiber to catch up (beyond the read-ahead): every request up to it is
// answered in order, nothing after it, and the connection ends.
TEST_F(HttpEdge, Pipelined_CloseBeyondTheReadAhead_AnsweredUpToItThenClosed) {
  constexpr int kBefore = 200;
  std::string bytes;
  for (int i = 0; i < kBefore; ++i) {
    bytes +=
        "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: deep-" + std::to_string(i) + "\r\n\r\n";
  }
  bytes += "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: last\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 50; ++i)
    bytes += "GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID: after\r\n\r\n";
  HttpConnection connection("127.0.0.1", port(), 10s);
  connection.send_raw(bytes);
  for (int i = 0; i < kBefore; ++i) {
    auto response = connection.read_response();
    ASSERT_EQ(response.header("X-Request-ID"), "deep-" + std::to_string(i));
    ASSERT_EQ(response.status, 200);
  }
  auto last = connection.read_response();
  EXPECT_EQ(last.header("X-Request-ID"), "last");
  EXPECT_TRUE(iequals(last.header("Connection"), "close"));
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

TEST_F(HttpEdge, Pipelined_POSTBodiesKeptApart) {
  const std::string post =
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "2\r\n\r\n{}";
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(post + post + "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_json_fail(connection.read_response(), 400, "Invalid payload.");
  expect_json_fail(connection.read_response(), 400, "Invalid payload.");
  EXPECT_EQ(connection.read_response().body, kPong);
}

TEST_F(HttpEdge, Pipelined_ConnectionCloseInTheMiddle_LaterRequestsDropped) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(
      "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(connection.read_response().status, 200);
  auto last = connection.read_response();
  EXPECT_EQ(last.status, 200);
  EXPECT_TRUE(iequals(last.header("Connection"), "close"));
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

TEST_F(HttpEdge, Pipelined_BadRequestAfterGoodOnes_AnsweredInOrderThenClosed) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(
      "GET /users HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /ping HTTP/1.1\r\n\r\n");  // no Host
  EXPECT_EQ(connection.read_response().status, 503);
  expect_json_fail(connection.read_response(), 400);
  EXPECT_TRUE(connection.is_closed_by_peer(2s));
}

// --- HEAD (RFC 9110 9.3.2, 8.6) --------------------------------------------------------

TEST_F(HttpEdge, Head_SameHeadersAsGetWithItsContentLength) {
  for (const char* path : {"/ping", "/users/abc", "/nope", "/static/style.css"}) {
    SCOPED_TRACE(path);
    auto get = support::http_request(port(), "GET", path);
    auto exchange = unit::head_then_ping(port(), path);
    EXPECT_EQ(unit::status_of(exchange.head), get.status) << exchange.head;
    EXPECT_NE(exchange.head.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
              std::string::npos)
        << exchange.head;
    EXPECT_NE(exchange.head.find("Content-Type: " + get.header("Content-Type")), std::string::npos);
    // No body: the next bytes are the next response.
    EXPECT_EQ(exchange.after.rfind("HTTP/1.1 200", 0), 0u) << exchange.after;
  }
}

// --- the request target -------------------------------------------------------------------

TEST_F(HttpEdge, PercentEncodedId_IsDecoded) {
  // "%31" is "1": a well-formed id, so the route goes to the database (down
  // here: 503) instead of refusing it as "Param id error".
  auto encoded = support::http_request(port(), "GET", "/users/%31");
  expect_json_fail(encoded, 503);
  expect_json_fail(support::http_request(port(), "GET", "/users/%41"), 400, "Param id error");
}

TEST_F(HttpEdge, PercentEncodedControlOrBadEscape_400) {
  for (const char* path :
       {"/users/%00", "/users/1%00", "/users/%0d%0a", "/users/%zz", "/users/%"}) {
    expect_refused(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nX-Request-ID: pct\r\n\r\n",
                   400);
  }
}

TEST_F(HttpEdge, AbsoluteFormTarget_RoutesLikeOriginForm) {
  auto response = exchange("GET http://127.0.0.1:5000/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, kPong);
  expect_json_fail(exchange("GET http://h/users/abc HTTP/1.1\r\nHost: h\r\n\r\n"), 400,
                   "Param id error");
}

// --- header fields (RFC 9112 3.2, 5.1) ---------------------------------------------------

TEST_F(HttpEdge, Http11WithoutHost_400) {
  expect_refused("GET /ping HTTP/1.1\r\nX-Request-ID: no-host\r\n\r\n", 400);
  EXPECT_EQ(exchange("GET /ping HTTP/1.0\r\n\r\n").status, 200);  // HTTP/1.0 needs none
}

TEST_F(HttpEdge, WhitespaceBeforeColon_400) {
  expect_refused("GET /ping HTTP/1.1\r\nHost : x\r\n\r\n", 400);
  expect_refused("GET /ping HTTP/1.1\r\nHost: x\r\nX-Request-ID\t: a\r\n\r\n", 400);
}

TEST_F(HttpEdge, HeaderLineWithoutColon_400NotSwallowingTheNext) {
  expect_refused("GET /ping HTTP/1.1\r\nHost: x\r\nJustAName\r\nX-Request-ID: ok\r\n\r\n", 400);
}

TEST_F(HttpEdge, RefusalsCarryTheClientsRequestId) {
  HttpConnection connection("127.0.0.1", port(), 3s);
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nX-Request-ID: trace-cl\r\nContent-Length: 1\r\n"
      "Content-Length: 2\r\n\r\n");
  EXPECT_EQ(connection.read_response().header("X-Request-ID"), "trace-cl");
}

// --- limits ----------------------------------------------------------------------------

TEST_F(HttpEdge, RequestLineTooLong_414) {
  expect_refused("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414);
}

TEST_F(HttpEdge, HeaderSectionTooLarge_431) {
  std::string big = "GET /ping HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 8; ++i)
    big += "X-Fill-" + std::to_string(i) + ": " + std::string(5000, 'a') + "\r\n";
  expect_refused(big + "\r\n", 431);
}

TEST_F(HttpEdge, TooManyHeaderFields_431) {
  std::string many = "GET /ping HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 150; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  expect_refused(many + "\r\n", 431);
}

TEST_F(HttpEdge, UnknownTransferCoding_501) {
  expect_refused("POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
}

// --- message body framing (RFC 9112 6) ---------------------------------------------------

TEST_F(HttpEdge, ConflictingContentLengths_400AndClose) {
  expect_refused(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", 400);
}

TEST_F(HttpEdge, ContentLengthWithTransferEncoding_400AndClose) {
  expect_refused(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\n{}\r\n0\r\n\r\n",
      400);
}

TEST_F(HttpEdge, ChunkedBodyWithinLimit_ReachesTheHandler) {
  HttpConnection connection("127.0.0.1", port(), 5s);
  connection.send_raw(
      "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n"
      "e\r\n{\"username\":\"a\r\n14\r\n\",\"email\":\"a@b.co\"}\r\n0\r\n\r\n");
  // A valid payload: the handler goes to the database, which is down.
  expect_json_fail(connection.read_response(), 503);
  EXPECT_EQ(connection.request("GET", "/ping").body, kPong);
}

// --- configurable limits -------------------------------------------------------------------

TEST(HttpEdgeLimits, ConfiguredLimits_AreApplied) {
  auto app = users::create_app(unit::test_config({{"MAX_REQUEST_LINE_BYTES", "100"},
                                                  {"MAX_HEADER_FIELDS", "3"},
                                                  {"MAX_HEADER_BYTES", "300"}}));
  app->start();
  auto send = [&](const std::string& bytes) {
    HttpConnection connection("127.0.0.1", app->port(), 3s);
    connection.send_raw(bytes);
    return connection.read_response();
  };
  expect_json_fail(send("GET /" + std::string(120, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"), 414);
  expect_json_fail(send("GET /ping HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 431);
  expect_json_fail(
      send("GET /ping HTTP/1.1\r\nHost: x\r\nA: " + std::string(400, 'a') + "\r\n\r\n"), 431);
  EXPECT_EQ(send("GET /ping HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n").status, 200);
}

}  // namespace
