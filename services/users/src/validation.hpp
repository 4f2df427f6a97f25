// Input validation for new users and user ids: pure functions, no database.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace users {

constexpr std::size_t kMaxFieldLength = 128;  // characters, as varchar(128)

struct NewUser {
  std::string username;
  std::string email;
};

// A PATCH /users/{id}'s fields (a JSON Merge Patch, RFC 7396); unset ones
// stay as they are.
struct UserChanges {
  std::optional<std::string> username;
  std::optional<std::string> email;
  std::optional<bool> active;
  std::optional<bool> admin;
  bool empty() const { return !username && !email && !active && !admin; }
  // Beyond a user's own username: only an admin may.
  bool needs_admin() const { return email || active || admin; }
  // The names of the fields set, for the audit log ("username,email").
  std::string field_names() const;
};

struct Validation {
  std::optional<NewUser> user;  // set when valid
  std::string message;          // why not, for people (the HTML form)
};

// Trims both fields and checks them: non-empty, at most 128 characters,
// valid UTF-8 without control characters, email of the form local@domain.tld.
Validation validate_new_user(std::string_view username, std::string_view email);

// The JSON API's payload: an object with string "username" and "email".
// Anything else (not JSON, not an object, wrong types, invalid fields) is nullopt.
std::optional<NewUser> parse_new_user_json(std::string_view body);

bool is_valid_email(std::string_view email);

// The merge patch of PATCH /users/{id}: an object whose members are only
// "username" and "email" (strings, trimmed and checked as for a new user) and
// "active" and "admin" (booleans). Anything else -- not an object, another or
// read-only member (id, created_at), a wrong type, null (these fields cannot
// be removed) -- is nullopt.
std::optional<UserChanges> parse_user_patch(std::string_view body);

// A request body that is a JSON object, parsed with a nesting limit (a hostile
// body never builds a deep tree); nullopt for anything else.
std::optional<nlohmann::json> parse_json_object(std::string_view body);

// A decimal integer in the range of users.id (int4), optionally negative; else
// nullopt. Like the Flask original, a well-formed id that no user has is not an
// error here (it is a 404 later).
std::optional<long long> parse_user_id(std::string_view text);

std::string trim(std::string_view text);
bool is_valid_utf8(std::string_view text);
std::size_t utf8_length(std::string_view text);

}  // namespace users
