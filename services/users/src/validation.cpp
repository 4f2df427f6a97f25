// Validation of user input.
#include "validation.hpp"

#include <nlohmann/json.hpp>

#include "common/text.hpp"

namespace users {
namespace {

// What a client's text field may start or end with and loses (isspace's set).
constexpr std::string_view kSpace = " \t\n\r\f\v";

bool is_space(char c) {
  return kSpace.find(c) != std::string_view::npos;
}

// C0 controls, DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F:
// terminal escapes and NEL, which would forge lines in logs and pages).
bool has_control_chars(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

std::string check_field(std::string_view name, const std::string& value) {
  if (value.empty()) return name == "username" ? "Username is required." : "Email is required.";
  if (!is_valid_utf8(value) || has_control_chars(value)) {
    return name == "username" ? "Username contains invalid characters."
                              : "Email contains invalid characters.";
  }
  if (utf8_length(value) > kMaxFieldLength) {
    return name == "username" ? "Username must be at most 128 characters."
                              : "Email must be at most 128 characters.";
  }
  return {};
}

}  // namespace

std::string trim(std::string_view text) {
  return std::string(common::trim(text, kSpace));
}

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    unsigned int code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static const unsigned int minimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < minimum[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xc0) != 0x80) ++count;
  }
  return count;
}

bool is_valid_email(std::string_view email) {
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : email) {
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  std::string_view local = email.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  std::string_view domain = email.substr(at + 1);
  auto last_dot = domain.rfind('.');
  if (last_dot == std::string_view::npos || domain.front() == '.' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  std::string_view tld = domain.substr(last_dot + 1);
  return tld.size() >= 2;
}

Validation validate_new_user(std::string_view raw_username, std::string_view raw_email) {
  Validation result;
  std::string username = trim(raw_username);
  std::string email = trim(raw_email);
  result.message = check_field("username", username);
  if (result.message.empty()) result.message = check_field("email", email);
  if (result.message.empty() && !is_valid_email(email)) {
    result.message = "Email must look like name@example.com.";
  }
  if (result.message.empty()) result.user = NewUser{std::move(username), std::move(email)};
  return result;
}

std::optional<nlohmann::json> parse_json_object(std::string_view body) {
  // Only a flat object is useful; refuse deep nesting early instead of
  // building a huge tree from a hostile body.
  struct TooDeep {};
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(
        body.begin(), body.end(),
        [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > 16) throw TooDeep{};
          return true;
        },
        /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    return std::nullopt;
  }
  if (!json.is_object()) return std::nullopt;
  return json;
}

std::optional<NewUser> parse_new_user_json(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  auto username = json->find("username");
  auto email = json->find("email");
  if (username == json->end() || email == json->end() || !username->is_string() ||
      !email->is_string()) {
    return std::nullopt;
  }
  auto result = validate_new_user(username->get_ref<const std::string&>(),
                                  email->get_ref<const std::string&>());
  return result.user;
}

std::string UserChanges::field_names() const {
  std::string names;
  auto add = [&names](bool set, const char* name) {
    if (!set) return;
    if (!names.empty()) names += ',';
    names += name;
  };
  add(username.has_value(), "username");
  add(email.has_value(), "email");
  add(active.has_value(), "active");
  add(admin.has_value(), "admin");
  return names;
}

std::optional<UserChanges> parse_user_patch(std::string_view body) {
  auto json = parse_json_object(body);
  if (!json) return std::nullopt;
  UserChanges changes;
  for (const auto& [key, value] : json->items()) {
    if (key == "username" || key == "email") {
      if (!value.is_string()) return std::nullopt;
      std::string text = trim(value.get_ref<const std::string&>());
      if (!check_field(key, text).empty()) return std::nullopt;
      if (key == "email" && !is_valid_email(text)) return std::nullopt;
      (key == "username" ? changes.username : changes.email) = std::move(text);
    } else if (key == "active" || key == "admin") {
      if (!value.is_boolean()) return std::nullopt;
      (key == "active" ? changes.active : changes.admin) = value.get<bool>();
    } else {
      return std::nullopt;  // id, created_at (read-only) or unknown
    }
  }
  return changes;
}

std::optional<long long> parse_user_id(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  // Leading zeros do not change the integer (/users/00000000001 is user 1).
  while (text.size() > 1 && text.front() == '0') text.remove_prefix(1);
  if (text.size() > 10) return std::nullopt;
  long long value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (negative) value = -value;
  if (value < -2147483648LL || value > 2147483647LL) return std::nullopt;
  return value;
}

}  // namespace users
