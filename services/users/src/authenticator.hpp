// Who sent a request: the user behind its "Authorization: Bearer <token>".
// Used by the auth routes and, with REQUIRE_ADMIN_FOR_WRITES, by the write
// routes of the users API and the page. Failures are HttpErrors (403 with no
// token, 401 for a bad, expired or revoked one, for a disabled account, and
// for a non-admin). The database's part of the check is one statement: the
// account and the token's session (UserRepository::find_account).
#pragma once

#include "common/http.hpp"
#include "tokens.hpp"
#include "user_repository.hpp"

namespace users {

struct Session {
  Account account;
  TokenClaims claims;
};

class Authenticator {
 public:
  Authenticator(const TokenCodec& tokens, UserRepository& users) : tokens_(tokens), users_(users) {}

  Session authenticate(const common::Request& request) const;
  void require_admin(const common::Request& request) const;

 private:
  const TokenCodec& tokens_;
  UserRepository& users_;
};

// Why a verified token does not open this account now ("" when it does): the
// account is disabled, the token's version is not the row's (a password
// change, a deactivation or a reset revoked it), or its session has ended (a
// logout, DELETE /auth/sessions, a reused refresh token). Pure, for unit tests.
std::string session_refusal(const TokenClaims& claims, const Account& account);

// The token of an "Authorization: Bearer <token>" header; "" when there is none.
std::string bearer_token(const std::string& authorization);

}  // namespace users
