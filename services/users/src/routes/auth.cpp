#include "auth.hpp"

#include <ctime>

#include "../auth_payloads.hpp"
#include "../password_check.hpp"
#include "common/json_response.hpp"

namespace users {
namespace {

const char* const kInvalidPayload = "Invalid payload.";
const char* const kUserExists = "Sorry. That user already exists.";

// A token is a credential: no cache on the way (a proxy, the browser's
// history) may keep it (RFC 6749 5.1).
common::Response token_response(int status, const std::string& message, const std::string& token) {
  auto response = common::json_response(
      status, {{"status", "success"}, {"message", message}, {"auth_token", token}});
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// The JSON answer to a refusal of account_recovery.hpp, in one place.
template <typename Flow>
common::Response recovering(Flow&& flow) {
  try {
    return flow();
  } catch (const InvalidToken& error) {
    throw common::HttpError(400, error.what());
  } catch (const UnacceptablePassword&) {
    throw common::HttpError(400, kInvalidPayload);
  } catch (const MailOff& error) {
    throw common::HttpError(503, error.what());
  } catch (const TooMany& error) {
    throw common::HttpError(429, error.what(),
                            {{"Retry-After", std::to_string(error.retry_after_seconds())}});
  }
}

// The one answer to a request for a mail, sent or not.
common::Response mail_requested(const char* message) {
  return common::json_response(202, {{"status", "success"}, {"message", message}});
}

}  // namespace

AuthBlueprint::AuthBlueprint(const UsersConfig& config, UserRepository& users,
                             RevokedTokens& revoked, const TokenCodec& tokens,
                             const Authenticator& authenticator, const PasswordHasher& hasher,
                             LoginLimiter& limiter, AccountChanges& changes,
                             AccountRecovery& recovery)
    : users_(users),
      revoked_(revoked),
      tokens_(tokens),
      authenticator_(authenticator),
      hasher_(hasher),
      limiter_(limiter),
      changes_(changes),
      recovery_(recovery),
      trusted_proxies_(config.trusted_proxies),
      require_verified_email_(config.require_verified_email) {}

void AuthBlueprint::register_routes(common::Routes& routes) {
  routes.post("/auth/register", [this](const auto& request) { return register_user(request); })
      .post("/auth/login", [this](const auto& request) { return login(request); })
      .get("/auth/status", [this](const auto& request) { return status(request); })
      .get("/auth/logout", [this](const auto& request) { return logout(request); })
      .post("/auth/password", [this](const auto& request) { return change_password(request); })
      .post("/auth/password/forgot",
            [this](const auto& request) { return forgot_password(request); })
      .post("/auth/password/reset", [this](const auto& request) { return reset_password(request); })
      .post("/auth/verify", [this](const auto& request) { return verify_email(request); })
      .post("/auth/verify/resend",
            [this](const auto& request) { return resend_verification(request); });
}

common::Response AuthBlueprint::register_user(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto registration = parse_registration_json(request.body);
  if (!registration) throw common::HttpError(400, kInvalidPayload);
  // A taken email costs no hash (the hash pool is the scarce resource); the
  // unique index still decides between two registrations racing for one.
  if (users_.email_exists(registration->user.email)) throw common::HttpError(400, kUserExists);
  std::string hash = hasher_.hash(registration->password);
  User user;
  try {
    // The verification mail is written in the user's transaction (none with mail off).
    user = users_.add_with_password(registration->user, hash, recovery_.verification_mail());
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, kUserExists);
  }
  // A new row starts at token_version 0.
  return token_response(201, "Successfully registered.",
                        tokens_.issue(user.id, 0, std::time(nullptr)).token);
}

// An unknown email costs the same hash verification as a wrong password, and
// both answer the same 401, so neither the body nor the time tells them apart.
// The attempt is counted before the hash (see login_limiter.hpp) and given
// back when it succeeds.
common::Response AuthBlueprint::login(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto credentials = parse_login_json(request.body);
  if (!credentials) throw common::HttpError(400, kInvalidPayload);

  std::optional<Account> account;
  verify_password_limited(limiter_, hasher_, common::client_address(request, trusted_proxies_),
                          credentials->email, credentials->password,
                          [&]() -> std::optional<std::string> {
                            account = users_.find_account_by_email(credentials->email);
                            return account ? account->password_hash : std::nullopt;
                          });
  // Only after the right password: a disabled account says so to its owner,
  // and to nobody else.
  if (!account->user.active) throw common::HttpError(401, "Account disabled.");
  if (require_verified_email_ && !account->email_verified) {
    throw common::HttpError(403, "Please verify your email first.");
  }
  return token_response(
      200, "Successfully logged in.",
      tokens_.issue(account->user.id, account->token_version, std::time(nullptr)).token);
}

common::Response AuthBlueprint::status(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  nlohmann::json data = session.account.user;
  data["admin"] = session.account.admin;
  data["email_verified"] = session.account.email_verified;
  return common::success_data(200, std::move(data));
}

common::Response AuthBlueprint::logout(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  revoked_.revoke(session.claims.jti, session.claims.expires_at);
  return common::success_message(200, "Successfully logged out.");
}

// As a login: the check is counted as a login attempt of the address and the
// email before the hash (a stolen token guesses no faster than a login), costs
// one verification whether or not the account has a password at all, and a
// wrong password is the login's 401.
common::Response AuthBlueprint::change_password(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto change = parse_password_change_json(request.body);
  if (!change) throw common::HttpError(400, kInvalidPayload);
  verify_password_limited(limiter_, hasher_, common::client_address(request, trusted_proxies_),
                          session.account.user.email, change->current_password,
                          [&] { return session.account.password_hash; });
  std::string hash = hasher_.hash(change->new_password);
  long long id = session.account.user.id;
  // Only if no other change revoked this token meanwhile; the bump revokes
  // every other token of the user.
  auto version = users_.change_password(id, session.claims.token_version, hash);
  if (!version) throw common::HttpError(401, "Invalid token. Please log in again.");
  changes_.record(session, AccountChanges::Action::password_change, id);
  return common::json_response(
      200, {{"status", "success"},
            {"message", "Password changed."},
            {"auth_token", tokens_.issue(id, *version, std::time(nullptr)).token}});
}

common::Response AuthBlueprint::forgot_password(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto email = parse_email_json(request.body);
  if (!email) throw common::HttpError(400, kInvalidPayload);
  return recovering([&] {
    recovery_.request_password_reset(*email, common::client_address(request, trusted_proxies_));
    return mail_requested("If that address has an account, a reset link is on its way.");
  });
}

// As a login: a fresh auth token (the reset ended every older one).
common::Response AuthBlueprint::reset_password(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto reset = parse_password_reset_json(request.body);
  if (!reset) throw common::HttpError(400, kInvalidPayload);
  return recovering([&] {
    Account account = recovery_.reset_password(reset->token, reset->new_password);
    return token_response(
        200, "Password reset.",
        tokens_.issue(account.user.id, account.token_version, std::time(nullptr)).token);
  });
}

common::Response AuthBlueprint::verify_email(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto token = parse_token_json(request.body);
  if (!token) throw common::HttpError(400, kInvalidPayload);
  return recovering([&] {
    recovery_.verify_email(*token);
    return common::success_message(200, "Email verified.");
  });
}

common::Response AuthBlueprint::resend_verification(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto email = parse_email_json(request.body);
  if (!email) throw common::HttpError(400, kInvalidPayload);
  return recovering([&] {
    recovery_.resend_verification(*email, common::client_address(request, trusted_proxies_));
    return mail_requested("If that address has an unverified account, a link is on its way.");
  });
}

}  // namespace users
