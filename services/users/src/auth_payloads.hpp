// The JSON bodies of POST /auth/register, POST /auth/login, POST
// /auth/password and the account recovery routes: pure parsing
// and validation, no database. Anything not valid is nullopt (400 "Invalid
// payload.").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "validation.hpp"

namespace users {

struct Registration {
  NewUser user;  // validated exactly as POST /users validates it
  std::string password;
};

struct Credentials {
  std::string email;  // trimmed
  std::string password;
};

struct PasswordChange {
  std::string current_password;
  std::string new_password;
};

struct PasswordReset {
  std::string token;  // as sent: its format is the flow's to judge
  std::string new_password;
};

// {"username","email","password"}: the user as POST /users wants it, plus a
// password that passes is_acceptable_password.
std::optional<Registration> parse_registration_json(std::string_view body);
// {"email","password"}: strings, the email non-empty, the password at most 512
// bytes (longer cannot be anyone's, and would only cost hashing time).
std::optional<Credentials> parse_login_json(std::string_view body);
// {"current_password","new_password"}: strings, the current one at most 512
// bytes (as a login's), the new one passing is_acceptable_password.
std::optional<PasswordChange> parse_password_change_json(std::string_view body);

// {"email"} (forgot, resend): a string, trimmed, non-empty, bounded as a
// login's. Any such string is answered alike, an account's or not.
std::optional<std::string> parse_email_json(std::string_view body);
// {"token","new_password"}: both strings (the rules are the flow's).
std::optional<PasswordReset> parse_password_reset_json(std::string_view body);
// {"token"}: a string.
std::optional<std::string> parse_token_json(std::string_view body);

}  // namespace users
