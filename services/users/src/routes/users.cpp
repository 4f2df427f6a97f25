#include "users.hpp"

#include <spdlog/spdlog.h>

#include "../paging.hpp"
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

// The refusals as authenticate() and the checks above answer them, decided
// inside the change's transaction.
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
  return Actor{session.account.user.id, session.claims.token_version, needs_admin,
               session.claims.session_id};
}

}  // namespace

void UsersBlueprint::register_routes(common::Routes& routes) {
  routes.post("/users", [this](const auto& request) { return add_user(request); })
      .get("/users", [this](const auto& request) { return list_users(request); })
      .get("/users/:id", [this](const auto& request) { return get_user(request); })
      .patch("/users/:id", [this](const auto& request) { return update_user(request); })
      .del("/users/:id", [this](const auto& request) { return delete_user(request); });
}

common::Response UsersBlueprint::add_user(const common::Request& request) {
  if (admin_guard_) admin_guard_->require_admin(request);
  if (request.content_type != "application/json") throw common::HttpError(400, kInvalidPayload);
  auto user = parse_new_user_json(request.body);
  if (!user) throw common::HttpError(400, kInvalidPayload);
  try {
    repository_.add(*user);
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, "Sorry. That email already exists.");
  }
  return common::success_message(201, user->email + " was added!");
}

// Whether the request comes with an admin's token. On a public read a bad
// token is no error: the reader just gets the public answer.
bool UsersBlueprint::read_by_admin(const common::Request& request) const {
  if (read_guard_) return read_guard_->authenticate(request).account.admin;
  if (bearer_token(request.authorization).empty()) return false;
  try {
    return authenticator_.authenticate(request).account.admin;
  } catch (const common::HttpError&) {
    return false;
  }
}

common::Response UsersBlueprint::get_user(const common::Request& request) {
  const bool admin = read_by_admin(request);
  auto user = repository_.find(path_id(request));
  if (!user) throw common::HttpError(404, kAbsent);
  // A strong ETag of the row's version: a client revalidates with
  // If-None-Match (304), and PATCH/DELETE compare If-Match with it.
  auto opaque = etag_opaque(*user, admin);
  if (!request.if_none_match.empty() && common::none_match(request.if_none_match, opaque)) {
    common::Response not_modified;
    not_modified.status = 304;
    not_modified.headers.emplace_back("ETag", common::strong_etag(opaque));
    not_modified.headers.emplace_back("Vary", "Authorization");
    return not_modified;
  }
  std::string data;
  data.reserve(192);
  if (admin) {
    append_admin_json(data, *user);
  } else {
    append_json(data, *user);
  }
  auto response = common::success_raw_data(200, data);
  response.headers.emplace_back("ETag", common::strong_etag(opaque));
  // The body depends on the token (an admin's view): a cache keys on it.
  response.headers.emplace_back("Vary", "Authorization");
  return response;
}

common::Response UsersBlueprint::update_user(const common::Request& request) {
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
    // A new email gets its verification mail in the change's transaction.
    result = repository_.update(id, *changes, expected_versions(request.if_match, id),
                                actor_of(session, needs_admin),
                                changes->email ? recovery_.verification_mail() : std::nullopt);
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, "Sorry. That email already exists.");
  }
  throw_unless_done(result.status);
  if (!changes->empty()) {
    changes_.record(session,
                    changes->active == false ? AccountChanges::Action::deactivate
                                             : AccountChanges::Action::update,
                    id, changes->field_names());
  }
  const User& user = result.account->user;
  std::string data;
  if (session.account.admin) {
    append_admin_json(data, user);
  } else {
    append_json(data, user);
  }
  auto response = common::success_raw_data(200, data);
  response.headers.emplace_back("ETag",
                                common::strong_etag(etag_opaque(user, session.account.admin)));
  return response;
}

common::Response UsersBlueprint::delete_user(const common::Request& request) {
  long long id = path_id(request);
  auto session = authenticator_.authenticate(request);
  require_self_or_admin(session, id);
  auto result = repository_.remove(id, expected_versions(request.if_match, id),
                                   actor_of(session, session.account.user.id != id));
  throw_unless_done(result.status);
  // Their tokens stop working with the row; their failed logins go too.
  try {
    limiter_.forget_email(result.email);
  } catch (const std::exception& error) {
    // The user is gone; their counters expire on their own (15 minutes at most).
    spdlog::warn("login counters of deleted user {} not removed: {}", id, error.what());
  }
  changes_.record(session, AccountChanges::Action::remove, id);
  common::Response response;
  response.status = 204;
  return response;
}

namespace {

// {"users":[...]}, written straight from the page's rows; `admin`: as an admin sees them.
std::string users_data(const UserRows& users, bool admin) {
  std::string data;
  data.reserve(32 + static_cast<std::size_t>(users.size()) * 160);
  data += "{\"users\":[";
  for (int i = 0; i < users.size(); ++i) {
    if (i) data += ',';
    if (admin) {
      append_admin_json(data, users, i);
    } else {
      append_json(data, users, i);
    }
  }
  data += "]}";
  return data;
}

}  // namespace

common::Response UsersBlueprint::list_users(const common::Request& request) {
  const bool admin = read_by_admin(request);
  if (request.query.empty()) return list_all_users(admin);
  return list_page(request.query, admin);
}

common::Response UsersBlueprint::list_page(std::string_view query, bool admin) {
  std::string error;
  auto page = parse_users_page(query, error);
  if (!page) throw common::HttpError(400, error);
  auto users = repository_.page_after(page->after, page->limit);
  auto response = common::success_raw_data(200, users_data(users, admin));
  // A full page may be the last; the next one is then empty and has no Link.
  if (users.size() == page->limit) {
    response.headers.emplace_back("Link", next_page_link(page->limit, users.id(users.size() - 1)));
  }
  return response;
}

// Every user, as the Flask original answered GET /users, streamed in keyset
// chunks so that memory stays flat whatever the table's size. The first chunk
// is read before answering, so an outage is still a 503 rather than a 200 cut
// short; a failure later cuts the connection (the body is then visibly
// incomplete). Each chunk is its own statement: a slow reader holds no
// database connection, and users added meanwhile appear at the end.
common::Response UsersBlueprint::list_all_users(bool admin) {
  struct Cursor {
    UserRows chunk;
    bool opened = false;
    bool any = false;
  };
  constexpr int kChunk = 1000;
  auto cursor = std::make_shared<Cursor>();
  cursor->chunk = repository_.page_after(0, kChunk);
  common::Response response;
  response.stream = [this, cursor, kChunk, admin](std::string& piece) {
    Cursor& at = *cursor;
    if (!at.opened) {
      piece += R"({"data":{"users":[)";  // success_raw_data's shape, byte for byte
      at.opened = true;
    }
    piece.reserve(piece.size() + static_cast<std::size_t>(at.chunk.size()) * 160);
    for (int i = 0; i < at.chunk.size(); ++i) {
      if (at.any) piece += ',';
      at.any = true;
      if (admin) {
        append_admin_json(piece, at.chunk, i);
      } else {
        append_json(piece, at.chunk, i);
      }
    }
    if (at.chunk.size() < kChunk) {
      piece += R"(]},"status":"success"})";
      return false;
    }
    at.chunk = repository_.page_after(at.chunk.id(at.chunk.size() - 1), kChunk);
    return true;
  };
  return response;
}

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
    // Either view's tag names the same row version.
    if (digits.size() > 2 && digits.compare(digits.size() - 2, 2, "-a") == 0)
      digits.resize(digits.size() - 2);
    if (digits.empty() || digits.size() > 18 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    versions.push_back(std::stoll(digits));
  }
  return versions;
}

}  // namespace users
