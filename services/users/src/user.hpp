// The User model and its JSON shape.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace users {

struct User {
  long long id = 0;
  std::string username;
  std::string email;
  bool active = false;
  std::string created_at;  // ISO 8601 UTC, e.g. 2026-11-22T21:37:45Z
};

// {"id","username","email","active","created_at"}
void to_json(nlohmann::json& json, const User& user);

// The same object appended as text, byte for byte what
// nlohmann::json(user).dump() gives (a unit test holds them together), without
// building a DOM: this is the hot path of GET /users and GET /users/{id}.
void append_json(std::string& out, const User& user);

}  // namespace users
