// Refresh tokens' crypto (services/users/src/refresh_token.cpp): 32 random
// bytes in URL-safe base64, only a SHA-256 for the database, and the sealed
// successor that only the retired token opens.
#include "refresh_token.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>
#include <string>

#include "session_tokens.hpp"

namespace {

TEST(RefreshToken, New_Is43UrlSafeCharactersOf32RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto token = users::new_refresh_token();
    EXPECT_EQ(token.size(), 43u);
    EXPECT_EQ(
        token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        std::string::npos)
        << token;
    unsigned char raw[33];
    std::size_t size = 0;
    ASSERT_EQ(sodium_base642bin(raw, sizeof raw, token.data(), token.size(), nullptr, &size,
                                nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
              0);
    EXPECT_EQ(size, 32u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(RefreshToken, Hash_IsTheSha256AsByteaText) {
  auto token = users::new_refresh_token();
  auto hash = users::refresh_token_hash(token);
  ASSERT_TRUE(hash);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  EXPECT_EQ(*hash, std::string("\\x") + hex);
  EXPECT_EQ(hash->find(token), std::string::npos);
}

TEST(RefreshToken, NotOneOfOurs_HasNoHash) {
  auto token = users::new_refresh_token();
  for (const std::string& bad :
       {std::string(""), token.substr(1), token + "A", token.substr(0, 42) + "+",
        token.substr(0, 42) + "=", std::string(43, '.'), std::string(100, 'A')}) {
    EXPECT_FALSE(users::refresh_token_hash(bad)) << bad;
  }
}

TEST(RefreshToken, Successor_OpensOnlyWithTheRetiredToken) {
  auto retired = users::new_refresh_token();
  auto sealed = users::seal_successor(retired, R"({"auth_token":"a.b.c"})");
  EXPECT_EQ(sealed.compare(0, 2, "\\x"), 0);
  EXPECT_EQ(sealed.find("a.b.c"), std::string::npos);
  EXPECT_EQ(users::open_successor(retired, sealed), R"({"auth_token":"a.b.c"})");
  EXPECT_FALSE(users::open_successor(users::new_refresh_token(), sealed));
  // Any change of the sealed bytes is refused, never opened as something else.
  std::string tampered = sealed;
  tampered[tampered.size() - 1] = tampered.back() == '0' ? '1' : '0';
  EXPECT_FALSE(users::open_successor(retired, tampered));
  EXPECT_FALSE(users::open_successor(retired, "\\x00"));
  EXPECT_FALSE(users::open_successor(retired, "not bytea"));
  // A random nonce each time: the same pair sealed twice looks different.
  EXPECT_NE(users::seal_successor(retired, "x"), users::seal_successor(retired, "x"));
}

TEST(RefreshToken, SessionOrigin_KeepsPrintableAsciiUpTo256) {
  common::Request request;
  std::string agent = "Mozilla/5.0 \x01\xc3\xa9" + std::string(400, 'x');
  request.user_agent = agent;
  auto origin = users::session_origin(request, "203.0.113.9");
  EXPECT_EQ(origin.user_agent.size(), 256u);
  EXPECT_EQ(origin.user_agent.substr(0, 15), "Mozilla/5.0 ???");
  EXPECT_EQ(origin.client_address, "203.0.113.9");
}

}  // namespace
