// The tokens that verification and password-reset mails carry: 32 random
// bytes from libsodium, written as URL-safe base64 without padding (43
// characters, safe in a link's query string as is). Only a token's SHA-256
// is stored, so the table opens no account. No I/O.
#pragma once

#include <string>
#include <string_view>

namespace users {

inline constexpr std::size_t kAccountTokenBytes = 32;
inline constexpr std::size_t kAccountTokenLength = 43;  // 32 bytes in unpadded base64url

// A new token (randombytes_buf).
std::string new_account_token();
// True for what new_account_token() can make: 43 characters of the base64url
// alphabet whose last one carries no stray bits. Anything else is refused
// before the database is asked.
bool is_account_token(std::string_view token);
// The hex SHA-256 of a token: what the database stores and looks up.
std::string account_token_hash(std::string_view token);

}  // namespace users
