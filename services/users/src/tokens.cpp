// JWT signing and verification over libjwt 1.10.
#include "tokens.hpp"

#include <jwt.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

namespace users {
namespace {

constexpr std::size_t kMaxTokenLength = 4096;

using JwtPtr = std::unique_ptr<jwt_t, decltype(&jwt_free)>;

TokenError invalid(const std::string& why) {
  return {TokenError::Kind::invalid, why};
}

// Three base64url segments: anything else never reaches the parser.
bool has_jwt_shape(const std::string& token) {
  if (token.empty() || token.size() > kMaxTokenLength) return false;
  int dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_')) {
      return false;
    }
  }
  return dots == 2;
}

// The verified claims as JSON: libjwt's typed getters read a string claim as 0
// without an error, so the types are checked here.
nlohmann::json claims_of(jwt_t* jwt) {
  char* text = jwt_get_grants_json(jwt, nullptr);
  if (!text) throw invalid("no claims");
  auto json = nlohmann::json::parse(text, nullptr, false);
  std::free(text);
  if (!json.is_object()) throw invalid("claims are not an object");
  return json;
}

long long required_int(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number_integer()) {
    throw invalid(std::string("missing or non-integer claim ") + name);
  }
  return it->get<long long>();
}

std::string required_string(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    throw invalid(std::string("missing or non-string claim ") + name);
  }
  return it->get<std::string>();
}

// aud is a string or an array of strings (RFC 7519 4.1.3); ours must be there.
bool is_for_us(const nlohmann::json& claims) {
  auto it = claims.find("aud");
  if (it == claims.end()) return false;
  if (it->is_string()) return *it == kTokenAudience;
  if (!it->is_array()) return false;
  for (const auto& each : *it) {
    if (each.is_string() && each == kTokenAudience) return true;
  }
  return false;
}

std::string new_jti() {
  unsigned char random[16];
  randombytes_buf(random, sizeof random);
  char hex[sizeof random * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, random, sizeof random);
  return hex;
}

}  // namespace

// HMAC-SHA256 of "header.payload" with the key (any length: libsodium's
// init hashes a long key as RFC 2104 says), compared with the decoded
// signature by sodium_memcmp, whose time does not depend on where they differ.
bool TokenCodec::has_valid_signature(const std::string& token) const {
  auto last_dot = token.rfind('.');
  const std::string signature = token.substr(last_dot + 1);
  unsigned char given[crypto_auth_hmacsha256_BYTES + 1];
  std::size_t given_length = 0;
  if (sodium_base642bin(given, sizeof given, signature.data(), signature.size(), nullptr,
                        &given_length, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      given_length != crypto_auth_hmacsha256_BYTES) {
    return false;
  }
  crypto_auth_hmacsha256_state state;
  unsigned char expected[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(token.data()),
                                last_dot);
  crypto_auth_hmacsha256_final(&state, expected);
  return sodium_memcmp(expected, given, crypto_auth_hmacsha256_BYTES) == 0;
}

TokenCodec::TokenCodec(std::string secret_key, int lifetime_seconds)
    : key_(std::move(secret_key)), lifetime_seconds_(lifetime_seconds) {
  if (key_.empty()) throw std::invalid_argument("the token signing key is empty");
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

IssuedToken TokenCodec::issue(long long user_id, long long token_version, long long session_id,
                              std::time_t now) const {
  IssuedToken issued;
  issued.claims.user_id = user_id;
  issued.claims.token_version = token_version;
  issued.claims.session_id = session_id;
  issued.claims.issued_at = now;
  issued.claims.expires_at = now + lifetime_seconds_;
  issued.claims.jti = new_jti();

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
  JwtPtr jwt(raw, jwt_free);
  std::string sub = std::to_string(user_id);
  bool ok =
      jwt_add_grant(jwt.get(), "iss", kTokenIssuer) == 0 &&
      jwt_add_grant(jwt.get(), "aud", kTokenAudience) == 0 &&
      jwt_add_grant(jwt.get(), "sub", sub.c_str()) == 0 &&
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(issued.claims.issued_at)) == 0 &&
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(issued.claims.expires_at)) == 0 &&
      jwt_add_grant(jwt.get(), "jti", issued.claims.jti.c_str()) == 0 &&
      jwt_add_grant_int(jwt.get(), "token_version", static_cast<long>(token_version)) == 0 &&
      jwt_add_grant_int(jwt.get(), "sid", static_cast<long>(session_id)) == 0 &&
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key_.data()),
                  static_cast<int>(key_.size())) == 0;
  if (!ok) throw std::runtime_error("could not build the token");
  char* encoded = jwt_encode_str(jwt.get());
  if (!encoded) throw std::runtime_error("could not sign the token");
  issued.token = encoded;
  std::free(encoded);
  return issued;
}

TokenClaims TokenCodec::verify(const std::string& token, std::time_t now) const {
  if (!has_jwt_shape(token)) throw invalid("not a JWT");
  // alg "none" has an empty signature: refuse it before libjwt sees it.
  if (token.back() == '.') throw invalid("unsigned token");
  // The signature, in constant time, before libjwt parses anything: its own
  // check compares the base64 text with strcmp, whose time tells a forger how
  // many leading characters were right. libjwt's check then only ever sees
  // a token that is already known to be good.
  if (!has_valid_signature(token)) throw invalid("bad signature");
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                 static_cast<int>(key_.size())) != 0 ||
      !raw) {
    if (raw) jwt_free(raw);
    throw invalid("bad signature or malformed token");
  }
  JwtPtr jwt(raw, jwt_free);
  // libjwt verifies with the algorithm the token names: accept only ours.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) throw invalid("algorithm is not HS256");

  auto json = claims_of(jwt.get());
  TokenClaims claims;
  std::string sub = required_string(json, "sub");
  if (sub.size() > 10 || sub.find_first_not_of("0123456789") != std::string::npos) {
    throw invalid("sub is not a user id");
  }
  claims.user_id = std::stoll(sub);
  claims.jti = required_string(json, "jti");
  if (required_string(json, "iss") != kTokenIssuer) throw invalid("wrong issuer");
  if (!is_for_us(json)) throw invalid("wrong audience");
  claims.token_version = required_int(json, "token_version");
  // Tokens from before sessions have none: their users log in again once.
  claims.session_id = required_int(json, "sid");
  if (claims.session_id < 1) throw invalid("sid is not a session id");
  claims.issued_at = required_int(json, "iat");
  claims.expires_at = required_int(json, "exp");
  if (claims.expires_at <= now) throw TokenError(TokenError::Kind::expired, "token expired");
  if (claims.issued_at > now + 60) throw invalid("issued in the future");
  return claims;
}

}  // namespace users
