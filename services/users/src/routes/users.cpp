#include "users.hpp"

#include "../paging.hpp"
#include "common/entity_tags.hpp"
#include "common/json_response.hpp"

namespace users {

void UsersBlueprint::register_routes(common::Routes& routes) {
  routes.post("/users", [this](const auto& request) { return add_user(request); })
      .get("/users", [this](const auto& request) { return list_users(request); })
      .get("/users/:id", [this](const auto& request) { return get_user(request); });
}

common::Response UsersBlueprint::add_user(const common::Request& request) {
  if (admin_guard_) admin_guard_->require_admin(request);
  if (request.content_type != "application/json") {
    throw common::HttpError(400, "Invalid payload.");
  }
  auto user = parse_new_user_json(request.body);
  if (!user) throw common::HttpError(400, "Invalid payload.");
  try {
    repository_.add(*user);
  } catch (const DuplicateEmail&) {
    throw common::HttpError(400, "Sorry. That email already exists.");
  }
  return common::success_message(201, user->email + " was added!");
}

common::Response UsersBlueprint::get_user(const common::Request& request) {
  if (read_guard_) read_guard_->authenticate(request);
  auto id = parse_user_id(request.param("id"));
  if (!id) throw common::HttpError(400, "Param id error");
  auto user = repository_.find(*id);
  if (!user) throw common::HttpError(404, "User does not exist");
  // A strong ETag of the row's version: a client revalidates with
  // If-None-Match (304), and PATCH/DELETE compare If-Match with it.
  auto opaque = etag_opaque(*user);
  if (!request.if_none_match.empty() && common::none_match(request.if_none_match, opaque)) {
    common::Response not_modified;
    not_modified.status = 304;
    not_modified.headers.emplace_back("ETag", common::strong_etag(opaque));
    return not_modified;
  }
  std::string data;
  data.reserve(192);
  append_json(data, *user);
  auto response = common::success_raw_data(200, data);
  response.headers.emplace_back("ETag", common::strong_etag(opaque));
  return response;
}

namespace {

// {"users":[...]}, written straight from the page's rows.
std::string users_data(const UserRows& users) {
  std::string data;
  data.reserve(32 + static_cast<std::size_t>(users.size()) * 160);
  data += "{\"users\":[";
  for (int i = 0; i < users.size(); ++i) {
    if (i) data += ',';
    append_json(data, users, i);
  }
  data += "]}";
  return data;
}

}  // namespace

common::Response UsersBlueprint::list_users(const common::Request& request) {
  if (read_guard_) read_guard_->authenticate(request);
  if (request.query.empty()) return list_all_users();
  return list_page(request.query);
}

common::Response UsersBlueprint::list_page(std::string_view query) {
  std::string error;
  auto page = parse_users_page(query, error);
  if (!page) throw common::HttpError(400, error);
  auto users = repository_.page_after(page->after, page->limit);
  auto response = common::success_raw_data(200, users_data(users));
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
common::Response UsersBlueprint::list_all_users() {
  struct Cursor {
    UserRows chunk;
    bool opened = false;
    bool any = false;
  };
  constexpr int kChunk = 1000;
  auto cursor = std::make_shared<Cursor>();
  cursor->chunk = repository_.page_after(0, kChunk);
  common::Response response;
  response.stream = [this, cursor, kChunk](std::string& piece) {
    Cursor& at = *cursor;
    if (!at.opened) {
      piece += R"({"data":{"users":[)";  // success_raw_data's shape, byte for byte
      at.opened = true;
    }
    piece.reserve(piece.size() + static_cast<std::size_t>(at.chunk.size()) * 160);
    for (int i = 0; i < at.chunk.size(); ++i) {
      if (at.any) piece += ',';
      at.any = true;
      append_json(piece, at.chunk, i);
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

}  // namespace users
