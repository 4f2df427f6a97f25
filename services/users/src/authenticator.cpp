// Token checks in the order that costs least first: signature and claims
// (no I/O), then the user and the session (one statement).
#include "authenticator.hpp"

#include "common/text.hpp"

namespace users {
namespace {

const char* const kInvalid = "Invalid token. Please log in again.";

}  // namespace

std::string session_refusal(const TokenClaims& claims, const Account& account) {
  if (!account.user.active) return "Account disabled.";
  if (claims.token_version != account.token_version) return kInvalid;
  if (!account.session_open) return "Token revoked. Please log in again.";
  return {};
}

std::string bearer_token(const std::string& authorization) {
  auto space = authorization.find(' ');
  if (space == std::string::npos) return {};
  if (!common::iequals(std::string_view(authorization).substr(0, space), "bearer")) return {};
  auto start = authorization.find_first_not_of(' ', space);
  if (start == std::string::npos) return {};
  return std::string(common::trim_end(std::string_view(authorization).substr(start)));
}

Session Authenticator::authenticate(const common::Request& request) const {
  std::string token = bearer_token(request.authorization);
  if (token.empty()) throw common::HttpError(403, "Provide a valid auth token.");
  Session session;
  try {
    session.claims = tokens_.verify(token);
  } catch (const TokenError& error) {
    if (error.kind() == TokenError::Kind::expired) {
      throw common::HttpError(401, "Signature expired. Please log in again.");
    }
    throw common::HttpError(401, kInvalid);
  }
  auto account = users_.find_account(session.claims.user_id, session.claims.session_id);
  if (!account) throw common::HttpError(401, kInvalid);  // the user is gone
  if (auto why = session_refusal(session.claims, *account); !why.empty()) {
    throw common::HttpError(401, why);
  }
  session.account = std::move(*account);
  return session;
}

void Authenticator::require_admin(const common::Request& request) const {
  if (!authenticate(request).account.admin) {
    throw common::HttpError(401, "You do not have permission to do that.");
  }
}

}  // namespace users
