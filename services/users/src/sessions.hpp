// The sessions and refresh_tokens tables: every SQL statement about them but
// those that are part of a change to a user (the account lookup that checks a
// token's session, a password change that ends the other sessions, a reset and
// manage's new password that end them all), which are in user_repository.cpp
// beside the rest of those statements; and the trigger of migration 0008 that
// ends them on a deactivation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/database.hpp"

namespace users {

// One open session as its user sees it.
struct SessionInfo {
  long long id = 0;
  std::string created_at;    // ISO 8601 UTC
  std::string last_used_at;  // to the minute: refreshed at most once a minute
  std::string user_agent;
  std::string client_address;
};

// Where a login came from: kept with its session.
struct SessionOrigin {
  std::string user_agent;      // printable ASCII, at most 256 characters
  std::string client_address;  // as the login limiter saw it
};

// A refresh token's row with what deciding about it needs.
struct RefreshRecord {
  long long session_id = 0;
  long long user_id = 0;
  bool session_open = false;
  bool user_active = false;
  long long token_version = 0;
  bool retired = false;
  bool within_grace = false;             // retired no longer ago than the grace window
  bool live = false;                     // not expired
  std::optional<std::string> successor;  // sealed pair, once retired
};

class Sessions {
 public:
  // `refresh_ttl_seconds`: a refresh token's life unused; `idle_seconds`: a
  // session unused for that long can hold no live token any more.
  Sessions(common::Database& database, int refresh_ttl_seconds, int idle_seconds,
           int grace_seconds);

  static std::vector<common::PreparedStatement> statements();

  // Opens a session with its first refresh token (its hash, refresh_token.hpp)
  // and, in the same transaction, prunes a small batch of ended and idle
  // sessions and expired refresh tokens. Returns the session's id.
  long long open(long long user_id, const SessionOrigin& origin, const std::string& refresh_hash);
  // The user's open sessions, newest first (at most 1000).
  std::vector<SessionInfo> list(long long user_id);
  // Ends that session if it is the user's and open; false otherwise.
  bool end(long long user_id, long long session_id);
  // Ends every open session of the user but `keep` (0: all); how many ended.
  int end_all(long long user_id, long long keep = 0);
  // Ends a session whose refresh token was reused.
  void end_session(long long session_id);

  std::optional<RefreshRecord> find_refresh(const std::string& hash);
  // Retires `old_hash` (if still current, unexpired, its session open),
  // storing the sealed pair that replaces it, and adds `new_hash` to the same
  // session; false when another rotation (or an end) came first.
  bool rotate(const std::string& old_hash, const std::string& new_hash,
              const std::string& sealed_successor);

  int refresh_ttl_seconds() const { return refresh_ttl_seconds_; }

 private:
  common::Database& database_;
  int refresh_ttl_seconds_;
  int idle_seconds_;
  int grace_seconds_;
};

}  // namespace users
