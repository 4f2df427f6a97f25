// Responses as the service writes them (common/src/edge/response_wire.cpp)
// and path parameter decoding (common/src/edge/percent_decode.cpp).
#include "edge/response_wire.hpp"

#include <gtest/gtest.h>

#include "edge/percent_decode.hpp"

namespace {

using common::edge::percent_decode;
using common::edge::response_wire;
using common::edge::WireOptions;

WireOptions for_head() {
  WireOptions options;
  options.head = true;
  return options;
}

WireOptions closing() {
  WireOptions options;
  options.close = true;
  return options;
}

WireOptions with_security_headers() {
  WireOptions options;
  options.defaults = &common::edge::security_headers();
  return options;
}

common::Response pong() {
  common::Response response;
  response.body = R"({"message":"pong!","status":"success"})";
  return response;
}

TEST(ResponseWire, Get_HasLengthAndBody) {
  auto wire = response_wire(pong(), "rid");
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(wire.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(wire.find("X-Request-ID: rid\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Content-Length: 38\r\n\r\n{"), std::string::npos);
}

// RFC 9110 9.3.2 and 8.6: HEAD gets GET's headers, Content-Length included,
// and never a body.
// The Date line aside: the two may straddle a second.
std::string without_date(std::string wire) {
  auto at = wire.find("Date: ");
  if (at != std::string::npos) wire.erase(at, wire.find("\r\n", at) + 2 - at);
  return wire;
}

TEST(ResponseWire, Head_SameLengthAsGetNoBody) {
  auto get = without_date(response_wire(pong(), "rid"));
  auto head = without_date(response_wire(pong(), "rid", for_head()));
  EXPECT_EQ(head, get.substr(0, get.find("\r\n\r\n") + 4));
}

TEST(ResponseWire, HasAnImfFixdateDate) {
  auto wire = response_wire(pong(), "rid");
  auto at = wire.find("\r\nDate: ");
  ASSERT_NE(at, std::string::npos);
  auto value = wire.substr(at + 8, wire.find("\r\n", at + 2) - at - 8);
  EXPECT_EQ(value.size(), 29u) << value;  // "Sun, 06 Nov 1994 08:49:37 GMT"
  EXPECT_EQ(value.substr(26), "GMT");
}

TEST(ResponseWire, NoContent_HasNoLength) {
  common::Response response;
  response.status = 204;
  auto wire = response_wire(response, "rid", closing());
  EXPECT_EQ(wire.find("Content-Length"), std::string::npos);
  EXPECT_NE(wire.find("Connection: close\r\n"), std::string::npos);
}

TEST(ResponseWire, HeaderValues_CannotSplitTheResponse) {
  auto response = pong();
  response.headers.emplace_back("Location", "/x\r\nSet-Cookie: a=b");
  auto wire = response_wire(response, "rid");
  EXPECT_NE(wire.find("Location: /xSet-Cookie: a=b\r\n"), std::string::npos);
}

TEST(PercentDecode, DecodesEscapes) {
  EXPECT_EQ(percent_decode("%31"), "1");
  EXPECT_EQ(percent_decode("a%2Fb%41"), "a/bA");
  EXPECT_EQ(percent_decode("plain"), "plain");
}

TEST(PercentDecode, MalformedOrControl_Refused) {
  for (const char* bad : {"%", "%3", "%zz", "%00", "%0a", "%0D", "%7f", "%1F"}) {
    EXPECT_FALSE(percent_decode(bad)) << bad;
  }
}

// SECURITY_HEADERS: the defaults follow the response's own headers, each
// only when the response has no field of that name (any case).
TEST(ResponseWire, Defaults_AreAddedUnlessTheResponseHasItsOwn) {
  auto response = pong();
  response.headers.emplace_back("content-security-policy", "default-src 'self'");
  auto wire = response_wire(response, "rid", with_security_headers());
  EXPECT_NE(wire.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_NE(wire.find("X-Frame-Options: DENY\r\n"), std::string::npos);
  EXPECT_NE(wire.find("Referrer-Policy: no-referrer\r\n"), std::string::npos);
  EXPECT_NE(wire.find("content-security-policy: default-src 'self'\r\n"), std::string::npos);
  EXPECT_EQ(wire.find("Content-Security-Policy:"), std::string::npos) << wire;
  EXPECT_EQ(response_wire(pong(), "rid").find("X-Frame-Options"), std::string::npos);
}

}  // namespace
