#include "auth.hpp"

#include <algorithm>

#include "../auth_payloads.hpp"
#include "common/json_response.hpp"

namespace users {
namespace {

const char* const kInvalidPayload = "Invalid payload.";

common::Response token_response(int status, const std::string& message, const std::string& token) {
  return common::json_response(
      status, {{"status", "success"}, {"message", message}, {"auth_token", token}});
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

AuthBlueprint::AuthBlueprint(const common::Config& config, UserRepository& users,
                             RevokedTokens& revoked, const TokenCodec& tokens,
                             const Authenticator& authenticator)
    : users_(users),
      revoked_(revoked),
      tokens_(tokens),
      authenticator_(authenticator),
      hasher_(config.password_hash_cost),
      limiter_(config.login_max_failures),
      trusted_proxies_(config.trusted_proxies) {}

void AuthBlueprint::register_routes(common::Routes& routes) {
  routes.post("/auth/register", [this](const auto& request) { return register_user(request); })
      .post("/auth/login", [this](const auto& request) { return login(request); })
      .get("/auth/status", [this](const auto& request) { return status(request); })
      .get("/auth/logout", [this](const auto& request) { return logout(request); });
}

common::Response AuthBlueprint::register_user(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto registration = parse_registration_json(request.body);
  if (!registration) throw common::HttpError(400, kInvalidPayload);
  std::string hash = hasher_.hash(registration->password);
  User user;
  try {
    user = users_.add_with_password(registration->user, hash);
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, "Sorry. That user already exists.");
  }
  // A new row starts at token_version 0.
  return token_response(201, "Successfully registered.",
                        tokens_.issue(user.id, 0, std::time(nullptr)).token);
}

// An unknown email costs the same hash verification as a wrong password, and
// both answer the same 401, so neither the body nor the time tells them apart.
common::Response AuthBlueprint::login(const common::Request& request) {
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto credentials = parse_login_json(request.body);
  if (!credentials) throw common::HttpError(400, kInvalidPayload);

  const std::string keys[] = {"address:" + common::client_address(request, trusted_proxies_),
                              "email:" + lower(credentials->email)};
  for (const auto& key : keys) {
    if (auto wait = limiter_.retry_after(key)) {
      throw common::HttpError(429, "Too many failed logins. Please try again later.",
                              {{"Retry-After", std::to_string(*wait)}});
    }
  }
  auto account = users_.find_account_by_email(credentials->email);
  bool ok = false;
  if (account && account->password_hash) {
    ok = hasher_.verify(*account->password_hash, credentials->password);
  } else {
    hasher_.verify_dummy(credentials->password);
  }
  if (!ok) {
    for (const auto& key : keys) limiter_.record_failure(key);
    throw common::HttpError(401, "Invalid credentials.");
  }
  // Only after the right password: a disabled account says so to its owner,
  // and to nobody else.
  if (!account->user.active) throw common::HttpError(401, "Account disabled.");
  return token_response(
      200, "Successfully logged in.",
      tokens_.issue(account->user.id, account->token_version, std::time(nullptr)).token);
}

void AuthBlueprint::forget_login_failures(const std::string& email) {
  limiter_.forget("email:" + lower(email));
}

common::Response AuthBlueprint::status(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  nlohmann::json data = session.account.user;
  data["admin"] = session.account.admin;
  return common::success_data(200, std::move(data));
}

common::Response AuthBlueprint::logout(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  revoked_.revoke(session.claims.jti, session.claims.expires_at);
  return common::success_message(200, "Successfully logged out.");
}

}  // namespace users
