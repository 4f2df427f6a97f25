// Parsing of the auth request bodies.
#include "auth_payloads.hpp"

#include "passwords.hpp"

namespace users {
namespace {

const std::string* string_field(const nlohmann::json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

}  // namespace

std::optional<Registration> parse_registration_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto* username = string_field(*json, "username");
  auto* email = string_field(*json, "email");
  auto* password = string_field(*json, "password");
  if (!username || !email || !password || !is_acceptable_password(*password)) return std::nullopt;
  auto validation = validate_new_user(*username, *email);
  if (!validation.user) return std::nullopt;
  return Registration{std::move(*validation.user), *password};
}

namespace {

// An email as a login takes it: trimmed, non-empty, at most 4 bytes a character.
std::optional<std::string> email_field(const nlohmann::json& json) {
  auto* email = string_field(json, "email");
  if (!email) return std::nullopt;
  std::string trimmed = trim(*email);
  if (trimmed.empty() || trimmed.size() > 4 * kMaxFieldLength) return std::nullopt;
  return trimmed;
}

}  // namespace

std::optional<Credentials> parse_login_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto email = email_field(*json);
  auto* password = string_field(*json, "password");
  if (!email || !password || password->size() > std::size_t{4} * 128) return std::nullopt;
  return Credentials{std::move(*email), *password};
}

std::optional<PasswordChange> parse_password_change_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto* current = string_field(*json, "current_password");
  auto* replacement = string_field(*json, "new_password");
  if (!current || !replacement || current->size() > std::size_t{4} * 128 ||
      !is_acceptable_password(*replacement)) {
    return std::nullopt;
  }
  return PasswordChange{*current, *replacement};
}

std::optional<std::string> parse_email_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  return email_field(*json);
}

std::optional<PasswordReset> parse_password_reset_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto* token = string_field(*json, "token");
  auto* password = string_field(*json, "new_password");
  if (!token || !password) return std::nullopt;
  return PasswordReset{*token, *password};
}

std::optional<std::string> parse_token_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto* token = string_field(*json, "token");
  if (!token) return std::nullopt;
  return *token;
}

}  // namespace users
