// Refresh tokens, the crypto only (no database): a token is 32 random bytes
// (libsodium) in URL-safe base64 without padding; the database stores only its
// SHA-256. When a token is rotated, the pair that replaced it is sealed
// (XSalsa20-Poly1305) with a key derived from the retired token itself: a
// client retrying within the grace window presents that token and so opens the
// same pair, while the stored row alone (a backup, a leaked copy) opens
// nothing, since the token is never stored.
#pragma once

#include <optional>
#include <string>

namespace users {

// A new refresh token: 43 characters, base64url of 32 random bytes.
std::string new_refresh_token();

// The SHA-256 of a well-formed refresh token, as PostgreSQL's bytea text
// ("\x" and 64 hex digits); nullopt for anything that cannot be one of ours
// (wrong length or alphabet), which never reaches the database.
std::optional<std::string> refresh_token_hash(const std::string& token);

// `plain` sealed with the key of `retired_token`, as bytea text (a random nonce
// first); open_successor gives it back, or nullopt when the token or the data
// are not the ones it was sealed with.
std::string seal_successor(const std::string& retired_token, const std::string& plain);
std::optional<std::string> open_successor(const std::string& retired_token,
                                          const std::string& sealed);

}  // namespace users
