// The HTTP/1.1 framer (common/src/edge/request_framer.cpp) on its own:
// bytes in, checked requests or refusals out.
#include "edge/request_framer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using common::edge::FramedRequest;
using common::edge::FramerLimits;
using common::edge::RequestFramer;
using Event = RequestFramer::Event;
using namespace std::string_literals;

struct Outcome {
  std::vector<FramedRequest> requests;
  int continues = 0;
  int refused = 0;  // status, 0 if none
};

Outcome run(const std::string& bytes, FramerLimits limits = {}, std::size_t step = 0) {
  RequestFramer framer(limits);
  Outcome out;
  auto drain = [&] {
    for (auto event = framer.next(); event != Event::need_more; event = framer.next()) {
      if (event == Event::request) out.requests.push_back(framer.take_request());
      if (event == Event::continue_100) ++out.continues;
      if (event == Event::refused) out.refused = framer.refusal().status;
    }
  };
  if (step == 0) {
    framer.feed(bytes);
    drain();
  } else {
    for (std::size_t at = 0; at < bytes.size(); at += step) {
      framer.feed(std::string_view(bytes).substr(at, step));
      drain();
    }
  }
  return out;
}

int refusal(const std::string& bytes, FramerLimits limits = {}) {
  return run(bytes, limits).refused;
}

TEST(RequestFramer, PipelinedRequests_SplitInOrder) {
  auto out =
      run("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
          "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
          "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(out.requests.size(), 3u);
  EXPECT_EQ(out.requests[0].target, "/a");
  EXPECT_EQ(out.requests[1].target, "/b");
  EXPECT_EQ(out.requests[1].body, "{}");
  EXPECT_EQ(out.requests[2].target, "/c");
  EXPECT_EQ(out.refused, 0);
}

TEST(RequestFramer, ByteByByte_SameAsAtOnce) {
  std::string bytes =
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GET /c HTTP/1.1\r\nHost: "
      "x\r\n\r\n";
  auto whole = run(bytes);
  auto trickled = run(bytes, {}, 1);
  ASSERT_EQ(trickled.requests.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(trickled.requests[i].method, whole.requests[i].method);
    EXPECT_EQ(trickled.requests[i].target, whole.requests[i].target);
    EXPECT_EQ(trickled.requests[i].headers, whole.requests[i].headers);
    EXPECT_EQ(trickled.requests[i].body, whole.requests[i].body);
  }
  EXPECT_EQ(trickled.requests[0].body, "{}");
}

TEST(RequestFramer, ConnectionClose_StopsAfterThatRequest) {
  auto out =
      run("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
          "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_TRUE(out.requests[0].close);
}

TEST(RequestFramer, Http10_ClosesUnlessKeepAlive) {
  EXPECT_TRUE(run("GET / HTTP/1.0\r\n\r\n").requests.at(0).close);
  EXPECT_FALSE(run("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").requests.at(0).close);
}

TEST(RequestFramer, AbsoluteForm_RewrittenToOriginForm) {
  EXPECT_EQ(run("GET http://h:5000/ping?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").requests.at(0).target,
            "/ping?x=1");
  EXPECT_EQ(run("GET HTTP://h HTTP/1.1\r\nHost: h\r\n\r\n").requests.at(0).target, "/");
  EXPECT_EQ(run("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n").requests.at(0).target, "/?q");
  EXPECT_EQ(refusal("GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(RequestFramer, MissingOrRepeatedHost_400) {
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  EXPECT_EQ(run("GET / HTTP/1.0\r\n\r\n").requests.size(), 1u);  // HTTP/1.0 needs none
}

TEST(RequestFramer, MalformedHeaderLines_400) {
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nX-A: 1\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"s), 400);
}

TEST(RequestFramer, RequestLineTooLong_414) {
  FramerLimits limits;
  limits.max_request_line = 100;
  EXPECT_EQ(refusal("GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", limits), 414);
  // Refused before the line ends: a client streaming a huge line is cut early.
  EXPECT_EQ(refusal("GET /" + std::string(200, 'a'), limits), 414);
}

TEST(RequestFramer, HeadersTooLargeOrTooMany_431) {
  FramerLimits limits;
  limits.max_header_bytes = 200;
  limits.max_header_fields = 5;
  EXPECT_EQ(
      refusal("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", limits),
      431);
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 6; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(refusal(many + "\r\n", limits), 431);
}

TEST(RequestFramer, BodyOverLimit_413FromTheHeaders) {
  FramerLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits), 413);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
                    limits),
            413);
}

TEST(RequestFramer, UnknownMethod_501_NewerVersion_505) {
  EXPECT_EQ(refusal("BREW / HTTP/1.1\r\nHost: x\r\n\r\n"), 501);
  EXPECT_EQ(refusal("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
  EXPECT_EQ(refusal("GET / HTTP/1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

TEST(RequestFramer, ConflictingLengths_400) {
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n"), 400);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
            400);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n"), 400);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  // The same value twice is one value (RFC 9112 6.3).
  EXPECT_EQ(run("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}").requests.size(),
            1u);
}

TEST(RequestFramer, ChunkedBody_Dechunked) {
  auto out =
      run("POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-Trailer: t\r\n\r\n",
          {}, 3);
  ASSERT_EQ(out.requests.size(), 1u);
  const auto& request = out.requests[0];
  EXPECT_TRUE(request.chunked);
  EXPECT_EQ(request.header("Transfer-Encoding"), nullptr);  // the framing is the parser's
  EXPECT_EQ(request.header("X-Trailer"), nullptr);          // trailers are dropped
  EXPECT_EQ(request.body, "{\"a\":1}");
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
}

TEST(RequestFramer, ExpectContinue_SignalledOnlyWhileTheBodyIsAwaited) {
  auto waiting =
      run("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(waiting.continues, 1);
  EXPECT_TRUE(waiting.requests.empty());
  auto eager =
      run("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(eager.continues, 0);
  EXPECT_EQ(eager.requests.size(), 1u);
  EXPECT_EQ(
      refusal(
          "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n"),
      413);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n"), 417);
}

TEST(RequestFramer, BadPercentEscapesInThePath_400) {
  EXPECT_EQ(refusal("GET /users/%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET /users/%00 HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(refusal("GET /users/%0a HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(run("GET /users/%31?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n").requests.size(), 1u);
}

TEST(RequestFramer, ClientRequestId_KeptForRefusals) {
  RequestFramer framer({});
  framer.feed("POST / HTTP/1.1\r\nHost: x\r\nX-Request-ID: r-1\r\nContent-Length: 1, 2\r\n\r\n");
  EXPECT_EQ(framer.next(), Event::refused);
  EXPECT_EQ(framer.client_request_id(), "r-1");
}

}  // namespace

TEST(RequestFramer, Request_CarriesFieldsVersionAndBody) {
  auto out =
      run("POST /u?x=1 HTTP/1.0\r\nHost: x\r\ncontent-TYPE:  application/json ; charset=utf-8\r\n"
          "X-Request-ID: abc\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_EQ(out.requests.size(), 1u);
  const auto& request = out.requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/u?x=1");
  EXPECT_TRUE(request.http10);
  EXPECT_TRUE(request.close);  // HTTP/1.0 without keep-alive
  ASSERT_NE(request.header("Content-Type"), nullptr);
  EXPECT_EQ(*request.header("Content-Type"), "application/json ; charset=utf-8");
  EXPECT_EQ(request.header("Content-Length"), nullptr);
  EXPECT_EQ(request.client_request_id, "abc");
  EXPECT_EQ(request.body, "{}");
}

TEST(RequestFramer, EmptyHost_IsAccepted) {
  // RFC 9112 3.2: a Host with an empty value is valid (nginx sends one for an
  // HTTP/1.0 request that had none); a missing Host is not, in HTTP/1.1.
  EXPECT_EQ(run("GET /ping HTTP/1.1\r\nHost:\r\n\r\n").requests.size(), 1u);
  EXPECT_EQ(run("GET /ping HTTP/1.1\r\nHost: \r\n\r\n").requests.size(), 1u);
  EXPECT_EQ(run("GET /ping HTTP/1.0\r\nHost: \r\n\r\n").requests.size(), 1u);
  EXPECT_EQ(refusal("GET /ping HTTP/1.1\r\n\r\n"), 400);
}
