// The tokens of a session: an access token (the JWT, carrying the session's
// id) and a refresh token, minted when a session opens and rotated by POST
// /auth/refresh. Rotation retires the presented refresh token; presenting a
// retired one again ends its whole session (someone holds a copy), except
// within the grace window, where it returns the very pair that replaced it,
// so a client whose answer was lost can retry.
#pragma once

#include <string>

#include "common/http.hpp"
#include "sessions.hpp"
#include "tokens.hpp"

namespace users {

struct TokenPair {
  std::string auth_token;
  std::string refresh_token;
  long long expires_in = 0;  // the access token's seconds left
};

class SessionTokens {
 public:
  SessionTokens(const TokenCodec& tokens, Sessions& sessions)
      : tokens_(tokens), sessions_(sessions) {}

  // Opens a session for the user (at their token_version) with its first pair.
  TokenPair open(long long user_id, long long token_version, const SessionOrigin& origin);
  // A pair for an existing session, with a refresh token the caller has
  // already stored (a password change stores it in its own transaction).
  TokenPair pair(long long user_id, long long token_version, long long session_id,
                 std::string refresh_token) const;
  // POST /auth/refresh. Throws HttpError 401 for an unknown, expired or
  // reused token, or an ended session.
  TokenPair refresh(const std::string& refresh_token);

 private:
  const TokenCodec& tokens_;
  Sessions& sessions_;
};

// The origin of the request's session: its User-Agent (printable ASCII, cut
// to 256 characters) and the client address the limiter counts.
SessionOrigin session_origin(const common::Request& request, const std::string& client_address);

}  // namespace users
