// Token signing and verification (services/users/src/tokens.cpp): every way a
// token can be wrong is an invalid token, and only a good signature can say
// "expired".
#include "tokens.hpp"

#include <gtest/gtest.h>
#include <jwt.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace {

using nlohmann::json;
using users::TokenCodec;
using users::TokenError;

const std::string kKey = "unit-test-signing-key-0123456789abcdef";
constexpr std::time_t kNow = 1'800'000'000;

std::string base64url(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(value >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += alphabet[(value << (6 - bits)) & 0x3f];
  return out;
}

std::string base64url_decode(const std::string& text) {
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    int digit = c >= 'A' && c <= 'Z'   ? c - 'A'
                : c >= 'a' && c <= 'z' ? c - 'a' + 26
                : c >= '0' && c <= '9' ? c - '0' + 52
                : c == '-'             ? 62
                                       : 63;
    value = (value << 6) | static_cast<unsigned>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

// A token signed by libjwt with `alg` over exactly these claims.
std::string signed_token(const json& claims, jwt_alg_t alg = JWT_ALG_HS256,
                         const std::string& key = kKey) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims.dump().c_str()), 0);
  EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(key.data()),
                        static_cast<int>(key.size())),
            0);
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded ? encoded : "";
  std::free(encoded);
  jwt_free(jwt);
  return token;
}

json good_claims() {
  return {{"iss", "users-service"}, {"aud", "users-service"}, {"sub", "7"},         {"iat", kNow},
          {"exp", kNow + 60},       {"jti", "abc123"},        {"token_version", 0}, {"sid", 5}};
}

TokenError::Kind failure_of(const std::string& token, std::time_t now = kNow) {
  try {
    TokenCodec(kKey, 3600).verify(token, now);
  } catch (const TokenError& error) {
    return error.kind();
  }
  ADD_FAILURE() << "accepted: " << token;
  return TokenError::Kind::expired;
}

void expect_invalid(const std::string& token) {
  EXPECT_EQ(failure_of(token), TokenError::Kind::invalid) << token;
}

TEST(Tokens, Issued_VerifiesWithItsClaims) {
  TokenCodec codec(kKey, 3600);
  auto issued = codec.issue(42, 0, 5, kNow);
  auto claims = codec.verify(issued.token, kNow + 1);
  EXPECT_EQ(claims.user_id, 42);
  EXPECT_EQ(claims.issued_at, kNow);
  EXPECT_EQ(claims.expires_at, kNow + 3600);
  EXPECT_EQ(claims.jti, issued.claims.jti);
  EXPECT_EQ(claims.jti.size(), 32u);
}

TEST(Tokens, Issued_IsHs256WithIssAudSubIatExpJtiTokenVersionSid) {
  auto token = TokenCodec(kKey, 3600).issue(42, 0, 5, kNow).token;
  auto header = json::parse(base64url_decode(token.substr(0, token.find('.'))));
  EXPECT_EQ(header["alg"], "HS256");
  auto first = token.find('.');
  auto payload =
      json::parse(base64url_decode(token.substr(first + 1, token.rfind('.') - first - 1)));
  EXPECT_EQ(payload["sub"], "42");
  EXPECT_EQ(payload["iat"], kNow);
  EXPECT_EQ(payload["exp"], kNow + 3600);
  EXPECT_TRUE(payload["jti"].is_string());
  EXPECT_EQ(payload["iss"], "users-service");
  EXPECT_EQ(payload["aud"], "users-service");
  EXPECT_EQ(payload["token_version"], 0);
  EXPECT_EQ(payload["sid"], 5);
}

TEST(Tokens, TokenVersion_IsCarriedThrough) {
  TokenCodec codec(kKey, 3600);
  auto issued = codec.issue(42, 17, 5, kNow);
  EXPECT_EQ(issued.claims.token_version, 17);
  EXPECT_EQ(codec.verify(issued.token, kNow).token_version, 17);
  auto claims = good_claims();
  claims["token_version"] = 3;
  EXPECT_EQ(TokenCodec(kKey, 3600).verify(signed_token(claims), kNow).token_version, 3);
}

TEST(Tokens, WrongIssuerOrAudience_IsInvalid) {
  for (const json& iss :
       {json("someone-else"), json(""), json(1), json::array({"users-service"})}) {
    auto claims = good_claims();
    claims["iss"] = iss;
    expect_invalid(signed_token(claims));
  }
  for (const json& aud : {json("another-service"), json(""), json(1), json::array({"other"})}) {
    auto claims = good_claims();
    claims["aud"] = aud;
    expect_invalid(signed_token(claims));
  }
  // aud may be a list that names us (RFC 7519 4.1.3).
  auto claims = good_claims();
  claims["aud"] = json::array({"other", "users-service"});
  EXPECT_EQ(TokenCodec(kKey, 3600).verify(signed_token(claims), kNow).user_id, 7);
}

TEST(Tokens, SessionId_IsCarriedThrough) {
  TokenCodec codec(kKey, 3600);
  auto issued = codec.issue(42, 0, 981, kNow);
  EXPECT_EQ(issued.claims.session_id, 981);
  EXPECT_EQ(codec.verify(issued.token, kNow).session_id, 981);
}

TEST(Tokens, SessionIdNotAPositiveInteger_IsInvalid) {
  for (const json& sid : {json("1"), json(1.5), json(nullptr), json(0), json(-3)}) {
    auto claims = good_claims();
    claims["sid"] = sid;
    expect_invalid(signed_token(claims));
  }
}

TEST(Tokens, TokenVersionOfTheWrongType_IsInvalid) {
  for (const json& version : {json("1"), json(1.5), json(nullptr), json(true)}) {
    auto claims = good_claims();
    claims["token_version"] = version;
    expect_invalid(signed_token(claims));
  }
}

// The signature check does not depend on libjwt: every single-character
// change of the signature, and signatures of the wrong length or encoding,
// are refused.
TEST(Tokens, EveryTamperedSignatureCharacter_IsInvalid) {
  auto token = TokenCodec(kKey, 3600).issue(42, 0, 5, kNow).token;
  auto start = token.rfind('.') + 1;
  ASSERT_EQ(token.size() - start, 43u);  // 32 bytes, base64url without padding
  for (std::size_t i = start; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    expect_invalid(tampered);
  }
  expect_invalid(token.substr(0, token.size() - 1));                         // 42 characters
  expect_invalid(token + "A");                                               // 44 characters
  expect_invalid(token.substr(0, start) + std::string(43, 'A'));             // zeros
  expect_invalid(token.substr(0, start) + base64url(std::string(64, 'x')));  // HS512-sized
}

// Keys of any length sign and verify (HMAC hashes a key longer than its
// block), and a key that is a prefix of another is another key.
TEST(Tokens, KeysOfAnyLength_SignAndVerify) {
  for (std::size_t length : {1u, 31u, 32u, 64u, 65u, 200u}) {
    std::string key(length, 'k');
    TokenCodec codec(key, 3600);
    auto token = codec.issue(9, 0, 5, kNow).token;
    EXPECT_EQ(codec.verify(token, kNow).user_id, 9) << length;
    // libjwt's own signature of the same claims verifies too: the same HMAC.
    auto claims = good_claims();
    EXPECT_EQ(codec.verify(signed_token(claims, JWT_ALG_HS256, key), kNow).user_id, 7) << length;
    EXPECT_THROW(TokenCodec(key + "k", 3600).verify(token, kNow), TokenError) << length;
  }
}

TEST(Tokens, EachIssue_HasItsOwnJti) {
  TokenCodec codec(kKey, 3600);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(codec.issue(1, 0, 5, kNow).claims.jti);
  EXPECT_EQ(ids.size(), 100u);
}

TEST(Tokens, SignedByLibjwtDirectly_Verifies) {
  EXPECT_EQ(TokenCodec(kKey, 3600).verify(signed_token(good_claims()), kNow).user_id, 7);
}

TEST(Tokens, TamperedPayload_IsInvalid) {
  auto token = TokenCodec(kKey, 3600).issue(42, 0, 5, kNow).token;
  auto first = token.find('.');
  auto last = token.rfind('.');
  auto payload = json::parse(base64url_decode(token.substr(first + 1, last - first - 1)));
  payload["sub"] = "1";
  expect_invalid(token.substr(0, first + 1) + base64url(payload.dump()) + token.substr(last));
}

TEST(Tokens, TamperedSignature_IsInvalid) {
  auto token = TokenCodec(kKey, 3600).issue(42, 0, 5, kNow).token;
  token.back() = token.back() == 'A' ? 'B' : 'A';
  expect_invalid(token);
}

TEST(Tokens, WrongKey_IsInvalid) {
  expect_invalid(
      TokenCodec("another-key-of-the-same-length-0123456", 3600).issue(42, 0, 5, kNow).token);
  expect_invalid(signed_token(good_claims(), JWT_ALG_HS256, "secret"));
}

TEST(Tokens, AlgNone_IsInvalid) {
  std::string header = base64url(R"({"alg":"none","typ":"JWT"})");
  std::string payload = base64url(good_claims().dump());
  expect_invalid(header + "." + payload + ".");
  // ... also with something where the signature would be.
  auto real = TokenCodec(kKey, 3600).issue(7, 0, 5, kNow).token;
  expect_invalid(header + "." + payload + real.substr(real.rfind('.')));
  expect_invalid(base64url(R"({"alg":"None"})") + "." + payload + ".");
}

TEST(Tokens, OtherAlgorithms_AreInvalid) {
  expect_invalid(signed_token(good_claims(), JWT_ALG_HS512));
  expect_invalid(signed_token(good_claims(), JWT_ALG_HS384));
  // An HS256 signature under a header that names another algorithm.
  auto real = signed_token(good_claims());
  std::string rs256 = base64url(R"({"alg":"RS256","typ":"JWT"})");
  expect_invalid(rs256 + real.substr(real.find('.')));
}

TEST(Tokens, MissingClaims_AreInvalid) {
  // A token without sid is one issued before sessions: refused, so its user
  // logs in again once.
  for (const char* claim : {"iss", "aud", "sub", "iat", "exp", "jti", "token_version", "sid"}) {
    auto claims = good_claims();
    claims.erase(claim);
    expect_invalid(signed_token(claims));
  }
}

TEST(Tokens, WrongClaimTypes_AreInvalid) {
  auto claims = good_claims();
  claims["sub"] = 7;  // a number, not the string the token carries
  expect_invalid(signed_token(claims));
  claims = good_claims();
  claims["sub"] = "seven";
  expect_invalid(signed_token(claims));
  claims = good_claims();
  claims["sub"] = "";
  expect_invalid(signed_token(claims));
  claims = good_claims();
  claims["exp"] = "later";
  expect_invalid(signed_token(claims));
  claims = good_claims();
  claims["jti"] = "";
  expect_invalid(signed_token(claims));
}

TEST(Tokens, Expired_IsExpiredOnlyWithAGoodSignature) {
  TokenCodec codec(kKey, 60);
  auto token = codec.issue(42, 0, 5, kNow).token;
  EXPECT_NO_THROW(codec.verify(token, kNow + 59));
  EXPECT_EQ(failure_of(token, kNow + 60), TokenError::Kind::expired);
  EXPECT_EQ(failure_of(token, kNow + 100000), TokenError::Kind::expired);
  auto forged =
      TokenCodec("another-key-of-the-same-length-0123456", 60).issue(42, 0, 5, kNow).token;
  EXPECT_EQ(failure_of(forged, kNow + 100000), TokenError::Kind::invalid);
}

TEST(Tokens, IssuedInTheFuture_IsInvalid) {
  auto claims = good_claims();
  claims["iat"] = kNow + 3600;
  claims["exp"] = kNow + 7200;
  expect_invalid(signed_token(claims));
}

TEST(Tokens, Malformed_IsInvalid) {
  for (const std::string& token :
       {std::string(), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
        std::string("a b.c.d"), std::string("..."), std::string("e30.e30.e30"),
        std::string(5000, 'a') + ".b.c", std::string("Bearer x.y.z")}) {
    expect_invalid(token);
  }
}

}  // namespace
