// SQL of the sessions and refresh_tokens tables.
#include "sessions.hpp"

namespace users {
namespace {

// Rows one prune deletes at most: a login pays for a little of the cleanup,
// never for all of it. SKIP LOCKED: two logins never wait for each other's.
constexpr const char* kPruneBatch = "100";

constexpr const char* kIso = R"('YYYY-MM-DD"T"HH24:MI:SS"Z"')";

std::string iso(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIso + ")";
}

std::string seconds(const std::string& param) {
  return "(" + param + "::integer * interval '1 second')";
}

}  // namespace

Sessions::Sessions(common::Database& database, int refresh_ttl_seconds, int idle_seconds,
                   int grace_seconds)
    : database_(database),
      refresh_ttl_seconds_(refresh_ttl_seconds),
      idle_seconds_(idle_seconds),
      grace_seconds_(grace_seconds) {}

std::vector<common::PreparedStatement> Sessions::statements() {
  const std::string batch = kPruneBatch;
  return {
      {"sessions_open",
       "WITH opened AS (INSERT INTO sessions (user_id, user_agent, client_address)"
       " VALUES ($1::integer, $2::text, $3::text) RETURNING id),"
       " first AS (INSERT INTO refresh_tokens (hash, session_id, expires_at)"
       " SELECT $4::bytea, id, now() + " +
           seconds("$5") + " FROM opened) SELECT id FROM opened"},
      {"sessions_prune_ended",
       "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE ended_at IS NOT NULL"
       " ORDER BY ended_at LIMIT " +
           batch + " FOR UPDATE SKIP LOCKED)"},
      {"sessions_prune_idle",
       "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE ended_at IS NULL"
       " AND last_used_at < now() - " +
           seconds("$1") + " ORDER BY last_used_at LIMIT " + batch + " FOR UPDATE SKIP LOCKED)"},
      {"refresh_tokens_prune",
       "DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens"
       " WHERE expires_at < now() ORDER BY expires_at LIMIT " +
           batch + " FOR UPDATE SKIP LOCKED)"},
      {"sessions_list",
       "SELECT id, " + iso("created_at") + ", " + iso("last_used_at") +
           ", user_agent, client_address FROM sessions"
           " WHERE user_id = $1::bigint AND ended_at IS NULL AND last_used_at >= now() - " +
           seconds("$2") + " ORDER BY id DESC LIMIT 1000"},
      {"sessions_end",
       "UPDATE sessions SET ended_at = now()"
       " WHERE id = $2::bigint AND user_id = $1::bigint AND ended_at IS NULL RETURNING id"},
      {"sessions_end_all",
       "UPDATE sessions SET ended_at = now()"
       " WHERE user_id = $1::bigint AND id <> $2::bigint AND ended_at IS NULL RETURNING id"},
      {"sessions_end_by_id",
       "UPDATE sessions SET ended_at = now() WHERE id = $1::bigint AND ended_at IS NULL"},
      {"refresh_tokens_find",
       "SELECT r.session_id, s.user_id, s.ended_at IS NULL, u.active, u.token_version,"
       " r.retired_at IS NOT NULL, coalesce(now() - r.retired_at <= " +
           seconds("$2") +
           ", false), r.expires_at > now(), r.successor"
           " FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id"
           " JOIN users u ON u.id = s.user_id WHERE r.hash = $1::bytea"},
      // The UPDATE's condition is the race's referee: of two rotations of one
      // token, the second waits for the first's row lock, then finds it
      // retired and changes nothing.
      {"refresh_tokens_rotate",
       "WITH retired AS (UPDATE refresh_tokens SET retired_at = now(), successor = $3::bytea"
       " WHERE hash = $1::bytea AND retired_at IS NULL AND expires_at > now()"
       " AND session_id IN (SELECT id FROM sessions WHERE ended_at IS NULL) RETURNING session_id),"
       " added AS (INSERT INTO refresh_tokens (hash, session_id, expires_at)"
       " SELECT $2::bytea, session_id, now() + " +
           seconds("$4") +
           " FROM retired RETURNING session_id),"
           " touched AS (UPDATE sessions SET last_used_at = now()"
           " WHERE id IN (SELECT session_id FROM added))"
           " SELECT count(*) FROM added"},
  };
}

long long Sessions::open(long long user_id, const SessionOrigin& origin,
                         const std::string& refresh_hash) {
  auto rows = database_.run({{"sessions_open",
                              {std::to_string(user_id), origin.user_agent, origin.client_address,
                               refresh_hash, std::to_string(refresh_ttl_seconds_)}},
                             {"sessions_prune_ended", {}},
                             {"sessions_prune_idle", {std::to_string(idle_seconds_)}},
                             {"refresh_tokens_prune", {}}});
  return rows.at(0).integer(0, 0);
}

std::vector<SessionInfo> Sessions::list(long long user_id) {
  auto rows =
      database_.run({"sessions_list", {std::to_string(user_id), std::to_string(idle_seconds_)}});
  std::vector<SessionInfo> sessions;
  sessions.reserve(static_cast<std::size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    sessions.push_back(SessionInfo{rows.integer(row, 0), std::string(rows.text(row, 1)),
                                   std::string(rows.text(row, 2)), std::string(rows.text(row, 3)),
                                   std::string(rows.text(row, 4))});
  }
  return sessions;
}

bool Sessions::end(long long user_id, long long session_id) {
  return !database_.run({"sessions_end", {std::to_string(user_id), std::to_string(session_id)}})
              .empty();
}

int Sessions::end_all(long long user_id, long long keep) {
  return database_.run({"sessions_end_all", {std::to_string(user_id), std::to_string(keep)}})
      .size();
}

void Sessions::end_session(long long session_id) {
  database_.run({"sessions_end_by_id", {std::to_string(session_id)}});
}

std::optional<RefreshRecord> Sessions::find_refresh(const std::string& hash) {
  auto rows = database_.run({"refresh_tokens_find", {hash, std::to_string(grace_seconds_)}});
  if (rows.empty()) return std::nullopt;
  RefreshRecord record;
  record.session_id = rows.integer(0, 0);
  record.user_id = rows.integer(0, 1);
  record.session_open = rows.boolean(0, 2);
  record.user_active = rows.boolean(0, 3);
  record.token_version = rows.integer(0, 4);
  record.retired = rows.boolean(0, 5);
  record.within_grace = rows.boolean(0, 6);
  record.live = rows.boolean(0, 7);
  if (!rows.is_null(0, 8)) record.successor = std::string(rows.text(0, 8));
  return record;
}

bool Sessions::rotate(const std::string& old_hash, const std::string& new_hash,
                      const std::string& sealed_successor) {
  auto rows =
      database_.run({"refresh_tokens_rotate",
                     {old_hash, new_hash, sealed_successor, std::to_string(refresh_ttl_seconds_)}});
  return rows.integer(0, 0) > 0;
}

}  // namespace users
