// The sessions routes: the caller's own and an admin's, read and ended through Sessions.
#include "sessions.hpp"

#include "../validation.hpp"
#include "common/json_response.hpp"

namespace users {
namespace {

common::Response no_content() {
  common::Response response;
  response.status = 204;
  return response;
}

// `current`: the session of the caller's token (0 for none of these).
common::Response session_list(const std::vector<SessionInfo>& sessions, long long current) {
  auto list = nlohmann::json::array();
  for (const auto& session : sessions) {
    list.push_back({{"id", session.id},
                    {"created_at", session.created_at},
                    {"last_used_at", session.last_used_at},
                    {"user_agent", session.user_agent},
                    {"client_address", session.client_address},
                    {"current", session.id == current}});
  }
  return common::success_data(200, {{"sessions", std::move(list)}});
}

}  // namespace

void SessionsBlueprint::register_routes(common::Routes& routes) {
  routes.get("/auth/sessions", [this](const auto& request) { return list_own(request); })
      .del("/auth/sessions", [this](const auto& request) { return end_others(request); })
      .del("/auth/sessions/:id", [this](const auto& request) { return end_own(request); })
      .get("/users/:id/sessions", [this](const auto& request) { return list_of_user(request); })
      .del("/users/:id/sessions", [this](const auto& request) { return end_all_of_user(request); });
}

common::Response SessionsBlueprint::list_own(const common::Request& request) {
  auto caller = authenticator_.authenticate(request);
  return session_list(sessions_.list(caller.account.user.id), caller.claims.session_id);
}

// Another user's session, an ended one and one that never was all answer the
// same 404: nothing tells which ids belong to somebody else.
common::Response SessionsBlueprint::end_own(const common::Request& request) {
  auto caller = authenticator_.authenticate(request);
  auto id = parse_user_id(request.param("id"));
  if (!id) throw common::HttpError(400, "Param id error");
  if (!sessions_.end(caller.account.user.id, *id)) {
    throw common::HttpError(404, "Session does not exist");
  }
  return no_content();
}

common::Response SessionsBlueprint::end_others(const common::Request& request) {
  auto caller = authenticator_.authenticate(request);
  sessions_.end_all(caller.account.user.id, caller.claims.session_id);
  return no_content();
}

long long SessionsBlueprint::admin_target(const common::Request& request, const Session& caller) {
  if (!caller.account.admin) throw common::HttpError(401, "You do not have permission to do that.");
  auto id = parse_user_id(request.param("id"));
  if (!id) throw common::HttpError(400, "Param id error");
  if (!users_.find(*id)) throw common::HttpError(404, "User does not exist");
  return *id;
}

common::Response SessionsBlueprint::list_of_user(const common::Request& request) {
  auto caller = authenticator_.authenticate(request);
  long long id = admin_target(request, caller);
  return session_list(sessions_.list(id),
                      id == caller.account.user.id ? caller.claims.session_id : 0);
}

common::Response SessionsBlueprint::end_all_of_user(const common::Request& request) {
  auto caller = authenticator_.authenticate(request);
  sessions_.end_all(admin_target(request, caller));
  return no_content();
}

}  // namespace users
