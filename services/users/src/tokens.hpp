// Auth tokens: JWT HS256 signed with SECRET_KEY (libjwt), with the claims sub
// (user id), iat, exp and jti (the id a logout revokes). HS256 is the only
// algorithm accepted: "none" and every other algorithm are invalid tokens.
#pragma once

#include <ctime>
#include <stdexcept>
#include <string>

namespace users {

struct TokenClaims {
  long long user_id = 0;
  long long issued_at = 0;
  long long expires_at = 0;
  std::string jti;
};

struct IssuedToken {
  std::string token;
  TokenClaims claims;
};

class TokenError : public std::runtime_error {
 public:
  enum class Kind { invalid, expired };
  TokenError(Kind kind, const std::string& why) : std::runtime_error(why), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class TokenCodec {
 public:
  TokenCodec(std::string secret_key, int lifetime_seconds);

  IssuedToken issue(long long user_id, std::time_t now = std::time(nullptr)) const;
  // The claims of a token this codec signed and that has not expired at `now`;
  // throws TokenError otherwise (expired only once the signature is good).
  TokenClaims verify(const std::string& token, std::time_t now = std::time(nullptr)) const;

 private:
  std::string key_;
  int lifetime_seconds_;
};

}  // namespace users
