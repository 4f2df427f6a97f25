// Auth tokens: JWT HS256 signed with SECRET_KEY (libjwt), with the claims iss
// and aud (this service, both checked), sub (user id), iat, exp, jti (unique to
// each token), token_version (the user's at issue time; the
// Authenticator compares it with the row, so bumping the row's revokes every
// token of the user) and sid (the session: ending it ends its tokens; a token
// without one is invalid). HS256 is the only algorithm accepted: "none" and every
// other algorithm are invalid tokens. The signature is checked here in
// constant time before libjwt (which compares with strcmp) parses anything.
#pragma once

#include <ctime>
#include <stdexcept>
#include <string>

namespace users {

struct TokenClaims {
  long long user_id = 0;
  long long issued_at = 0;
  long long expires_at = 0;
  long long token_version = 0;
  long long session_id = 0;  // the sid claim
  std::string jti;
};

// The iss and aud claims of every token: issued by and meant for this service.
inline constexpr const char* kTokenIssuer = "users-service";
inline constexpr const char* kTokenAudience = "users-service";

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

  // A token for the user at their current token_version, in that session.
  // `now` has no default, so a call that leaves out an argument does not
  // compile rather than passing the time as the version or the session.
  IssuedToken issue(long long user_id, long long token_version, long long session_id,
                    std::time_t now) const;
  int lifetime_seconds() const { return lifetime_seconds_; }
  // The claims of a token this codec signed and that has not expired at `now`;
  // throws TokenError otherwise (expired only once the signature is good).
  TokenClaims verify(const std::string& token, std::time_t now = std::time(nullptr)) const;

 private:
  bool has_valid_signature(const std::string& token) const;

  std::string key_;
  int lifetime_seconds_;
};

}  // namespace users
