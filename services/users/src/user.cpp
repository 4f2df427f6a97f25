// JSON shaping of the User model.
#include "user.hpp"

#include "common/json_response.hpp"

namespace users {

void to_json(nlohmann::json& json, const User& user) {
  json = nlohmann::json{{"id", user.id},
                        {"username", user.username},
                        {"email", user.email},
                        {"active", user.active},
                        {"created_at", user.created_at}};
}

void append_json(std::string& out, const User& user) {
  // Keys in nlohmann's (sorted) order.
  out += user.active ? "{\"active\":true,\"created_at\":" : "{\"active\":false,\"created_at\":";
  common::append_json_string(out, user.created_at);
  out += ",\"email\":";
  common::append_json_string(out, user.email);
  out += ",\"id\":";
  out += std::to_string(user.id);
  out += ",\"username\":";
  common::append_json_string(out, user.username);
  out += '}';
}

}  // namespace users
