#include "account.hpp"

#include <spdlog/spdlog.h>

#include <ctime>

#include "../auth_payloads.hpp"
#include "common/entity_tags.hpp"
#include "common/json_response.hpp"

namespace users {
namespace {

const char* const kInvalidPayload = "Invalid payload.";
const char* const kNoPermission = "You do not have permission to do that.";
const char* const kAbsent = "User does not exist";
const char* const kStale = "The user has changed since you read it.";

long long path_id(const common::Request& request) {
  auto id = parse_user_id(request.param("id"));
  if (!id) throw common::HttpError(400, "Param id error");
  return *id;
}

// An admin may act on anyone; a user only on themself.
void require_self_or_admin(const Session& session, long long id) {
  if (!session.account.admin && session.account.user.id != id) {
    throw common::HttpError(401, kNoPermission);
  }
}

// The refusals as authenticate() and the checks above answer them, now
// decided inside the change's transaction.
void throw_unless_done(ChangeStatus status) {
  switch (status) {
    case ChangeStatus::done:
      return;
    case ChangeStatus::absent:
      throw common::HttpError(404, kAbsent);
    case ChangeStatus::stale:
      throw common::HttpError(412, kStale);
    case ChangeStatus::last_admin:
      throw common::HttpError(409, "The last admin cannot be removed.");
    case ChangeStatus::actor_revoked:
      throw common::HttpError(401, "Invalid token. Please log in again.");
    case ChangeStatus::actor_disabled:
      throw common::HttpError(401, "Account disabled.");
    case ChangeStatus::actor_not_admin:
      throw common::HttpError(401, kNoPermission);
  }
}

Actor actor_of(const Session& session, bool needs_admin) {
  return Actor{session.account.user.id, session.claims.token_version, needs_admin};
}

// One line per change: who, what, to whom, which fields. Ids and field names
// only: never a value (no email, password or token).
void audit(const Session& session, const char* action, long long user_id,
           const std::string& fields = {}) {
  spdlog::info("audit: actor={} action={} user={}{}{}", session.account.user.id, action, user_id,
               fields.empty() ? "" : " fields=", fields);
}

}  // namespace

ExpectedVersions expected_versions(const std::string& if_match, long long id) {
  if (if_match.empty()) return std::nullopt;
  auto list = common::parse_entity_tags(if_match);
  if (!list) return std::vector<long long>{};
  if (list->any) return std::nullopt;
  std::vector<long long> versions;
  const std::string prefix = std::to_string(id) + "-";
  for (const auto& tag : list->tags) {
    if (tag.weak || tag.opaque.rfind(prefix, 0) != 0) continue;  // strong comparison only
    std::string digits = tag.opaque.substr(prefix.size());
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    versions.push_back(std::stoll(digits));
  }
  return versions;
}

AccountBlueprint::AccountBlueprint(const common::Config& config, UserRepository& users,
                                   const TokenCodec& tokens, const Authenticator& authenticator,
                                   const PasswordHasher& hasher, LoginLimiter& limiter)
    : users_(users),
      tokens_(tokens),
      authenticator_(authenticator),
      hasher_(hasher),
      limiter_(limiter),
      trusted_proxies_(config.trusted_proxies) {}

void AccountBlueprint::register_routes(common::Routes& routes) {
  routes.patch("/users/:id", [this](const auto& request) { return update_user(request); })
      .del("/users/:id", [this](const auto& request) { return delete_user(request); })
      .post("/auth/password", [this](const auto& request) { return change_password(request); });
}

common::Response AccountBlueprint::update_user(const common::Request& request) {
  long long id = path_id(request);
  auto session = authenticator_.authenticate(request);
  require_self_or_admin(session, id);
  if (request.content_type != "application/merge-patch+json" &&
      request.content_type != "application/json") {
    throw common::HttpError(400, kInvalidPayload);
  }
  auto changes = parse_user_patch(request.body);
  if (!changes) throw common::HttpError(400, kInvalidPayload);
  if (changes->needs_admin() && !session.account.admin) {
    throw common::HttpError(401, kNoPermission);
  }
  UpdateResult result;
  try {
    bool needs_admin = session.account.user.id != id || changes->needs_admin();
    result = users_.update(id, *changes, expected_versions(request.if_match, id),
                           actor_of(session, needs_admin));
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, "Sorry. That email already exists.");
  }
  throw_unless_done(result.status);
  if (!changes->empty()) {
    bool deactivated = changes->active == false;
    audit(session, deactivated ? "deactivate" : "update", id, changes->field_names());
    (deactivated ? deactivations_ : updates_).fetch_add(1, std::memory_order_relaxed);
  }
  const User& user = result.account->user;
  std::string data;
  append_json(data, user);
  auto response = common::success_raw_data(200, data);
  response.headers.emplace_back("ETag", common::strong_etag(etag_opaque(user)));
  return response;
}

common::Response AccountBlueprint::delete_user(const common::Request& request) {
  long long id = path_id(request);
  auto session = authenticator_.authenticate(request);
  require_self_or_admin(session, id);
  auto result = users_.remove(id, expected_versions(request.if_match, id),
                              actor_of(session, session.account.user.id != id));
  throw_unless_done(result.status);
  // Their tokens stop working with the row; their failed logins go too.
  try {
    limiter_.forget_email(result.email);
  } catch (const std::exception& error) {
    // The user is gone; their counters expire on their own (15 minutes at most).
    spdlog::warn("login counters of deleted user {} not removed: {}", id, error.what());
  }
  audit(session, "delete", id);
  deletions_.fetch_add(1, std::memory_order_relaxed);
  common::Response response;
  response.status = 204;
  return response;
}

// As a login: the check is counted as a login attempt of the address and the
// email before the hash (a stolen token guesses no faster than a login), costs
// one verification whether or not the account has a password at all, and a
// wrong password is the login's 401.
common::Response AccountBlueprint::change_password(const common::Request& request) {
  auto session = authenticator_.authenticate(request);
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto change = parse_password_change_json(request.body);
  if (!change) throw common::HttpError(400, kInvalidPayload);
  const std::string address = common::client_address(request, trusted_proxies_);
  const std::string& email = session.account.user.email;
  if (auto wait = limiter_.count_attempt(address, email)) {
    throw common::HttpError(429, "Too many failed logins. Please try again later.",
                            {{"Retry-After", std::to_string(*wait)}});
  }
  const auto& stored = session.account.password_hash;
  bool ok = false;
  if (stored) {
    ok = hasher_.verify(*stored, change->current_password);
  } else {
    hasher_.verify_dummy(change->current_password);
  }
  if (!ok) throw common::HttpError(401, "Invalid credentials.");
  try {
    limiter_.succeeded(address, email);
  } catch (const std::exception& error) {
    spdlog::warn("login counters not reset: {}", error.what());
  }
  std::string hash = hasher_.hash(change->new_password);
  long long id = session.account.user.id;
  // Only if no other change revoked this token meanwhile; the bump revokes
  // every other token of the user.
  auto version = users_.change_password(id, session.claims.token_version, hash);
  if (!version) throw common::HttpError(401, "Invalid token. Please log in again.");
  audit(session, "password_change", id);
  password_changes_.fetch_add(1, std::memory_order_relaxed);
  return common::json_response(
      200, {{"status", "success"},
            {"message", "Password changed."},
            {"auth_token", tokens_.issue(id, *version, std::time(nullptr)).token}});
}

void AccountBlueprint::append_metrics(std::string& out) const {
  out += "# HELP account_changes_total Account changes made through the API, by action.\n";
  out += "# TYPE account_changes_total counter\n";
  auto line = [&out](const char* action, const std::atomic<unsigned long long>& count) {
    out += "account_changes_total{action=\"";
    out += action;
    out += "\"} ";
    out += std::to_string(count.load(std::memory_order_relaxed));
    out += '\n';
  };
  line("update", updates_);
  line("deactivate", deactivations_);
  line("delete", deletions_);
  line("password_change", password_changes_);
}

}  // namespace users
