// JSON shaping of the User model.
#include "user.hpp"

#include <optional>

#include "common/json_response.hpp"

namespace users {

std::string etag_opaque(const User& user, bool admin_view) {
  return std::to_string(user.id) + "-" + std::to_string(user.version) + (admin_view ? "-a" : "");
}

void to_json(nlohmann::json& json, const User& user) {
  json = nlohmann::json{{"id", user.id},
                        {"username", user.username},
                        {"email", user.email},
                        {"active", user.active},
                        {"created_at", user.created_at}};
}

namespace {

// `verified`: the admin's view's email_verified (none in the public one).
void append_user(std::string& out, long long id, std::string_view username, std::string_view email,
                 bool active, std::string_view created_at, std::optional<bool> verified = {}) {
  // Keys in nlohmann's (sorted) order.
  out += active ? R"({"active":true,"created_at":)" : R"({"active":false,"created_at":)";
  common::append_json_string(out, created_at);
  out += ",\"email\":";
  common::append_json_string(out, email);
  if (verified) out += *verified ? ",\"email_verified\":true" : ",\"email_verified\":false";
  out += ",\"id\":";
  out += std::to_string(id);
  out += ",\"username\":";
  common::append_json_string(out, username);
  out += '}';
}

}  // namespace

void append_json(std::string& out, const User& user) {
  append_user(out, user.id, user.username, user.email, user.active, user.created_at);
}

void append_json(std::string& out, const UserRows& rows, int i) {
  append_user(out, rows.id(i), rows.username(i), rows.email(i), rows.active(i), rows.created_at(i));
}

void append_admin_json(std::string& out, const User& user) {
  append_user(out, user.id, user.username, user.email, user.active, user.created_at,
              user.email_verified);
}

void append_admin_json(std::string& out, const UserRows& rows, int i) {
  append_user(out, rows.id(i), rows.username(i), rows.email(i), rows.active(i), rows.created_at(i),
              rows.email_verified(i));
}

User UserRows::user(int i) const {
  User user;
  user.id = id(i);
  user.username = username(i);
  user.email = email(i);
  user.active = active(i);
  user.created_at = created_at(i);
  user.email_verified = email_verified(i);
  return user;
}

}  // namespace users
