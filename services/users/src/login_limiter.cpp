// SQL of the login_attempts table; the decisions are made in one statement
// per key under the row's lock.
#include "login_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace users {
namespace {

constexpr unsigned kPruneEvery = 16;  // count calls per prune of at most kPruneRows rows
constexpr int kPruneRows = 100;       // more than the 2 x 16 rows those calls can add

// The SQL of a key from the statement's $1: an address key as address_key()
// made it; an email folded by the database's lower(), the function the
// unique index and the login's lookup use, so every spelling the database
// takes for one account (KELVIN SIGN for K, U+0130 for I under C.UTF-8)
// counts on that account's one key, whatever the database's LC_CTYPE.
std::string key_sql(LoginLimiter::Key kind) {
  return kind == LoginLimiter::Key::email ? "'email:' || lower($1::text)" : "$1::text";
}

const char* key_suffix(LoginLimiter::Key kind) {
  return kind == LoginLimiter::Key::email ? "_email" : "_address";
}

// login_attempts_count, on the row that login_attempts_ensure made sure of;
// $1 the key's text, $2 the attempts allowed, $3 the window in seconds, $4
// the back-off cap in seconds (0: no back-off, refused until the window
// ends). `old` is the row as it was (locked), `counted` with this attempt
// counted unless the key was blocked, `judged` with when it is blocked and
// forgotten.
void add_counting_statements(LoginLimiter::Key kind,
                             std::vector<common::PreparedStatement>& statements) {
  const std::string key = key_sql(kind);
  const std::string suffix = key_suffix(kind);
  statements.push_back({"login_attempts_ensure" + suffix,
                        "INSERT INTO login_attempts (key, attempts, window_start, expires_at) "
                        "VALUES (" +
                            key +
                            ", 0, now(), now() + make_interval(secs => $2::int)) "
                            "ON CONFLICT (key) DO NOTHING"});
  statements.push_back(
      {"login_attempts_count" + suffix,
       "WITH old AS ("
       "  SELECT key, attempts, window_start, blocked_until, expires_at,"
       "         coalesce(blocked_until > now(), false) AS blocked, expires_at <= now() AS stale"
       "  FROM login_attempts WHERE key = " +
           key +
           " FOR UPDATE),"
           " counted AS ("
           "  SELECT key, blocked, blocked_until, expires_at,"
           "         CASE WHEN blocked THEN attempts WHEN stale THEN 1 ELSE attempts + 1 END AS "
           "attempts,"
           "         CASE WHEN stale THEN now() ELSE window_start END AS window_start"
           "  FROM old),"
           " judged AS ("
           "  SELECT key, blocked, attempts, window_start, expires_at AS old_expires_at,"
           "         CASE WHEN blocked THEN blocked_until"
           "              WHEN attempts < $2::int THEN NULL"
           "              WHEN $4::int = 0 THEN window_start + make_interval(secs => $3::int)"
           "              ELSE now() + make_interval(secs => least("
           "                $3::int * power(2, least(attempts - $2::int, 30)), $4::int)) END"
           "           AS blocked_until"
           "  FROM counted) "
           "UPDATE login_attempts a SET attempts = j.attempts, window_start = j.window_start,"
           "  blocked_until = j.blocked_until,"
           "  expires_at = CASE WHEN j.blocked THEN j.old_expires_at"
           "                    WHEN j.blocked_until IS NOT NULL AND $4::int > 0"
           "                      THEN j.blocked_until + make_interval(secs => $4::int)"
           "                    ELSE j.window_start + make_interval(secs => $3::int) END "
           "FROM judged j WHERE a.key = j.key "
           "RETURNING j.blocked, ceil(extract(epoch FROM j.blocked_until - now()))::bigint"});
}

}  // namespace

LoginLimiter::LoginLimiter(common::Database& database, int max_failures)
    : database_(database), max_failures_(std::max(1, max_failures)) {}

std::vector<common::PreparedStatement> LoginLimiter::statements() {
  std::vector<common::PreparedStatement> statements;
  add_counting_statements(Key::address, statements);
  add_counting_statements(Key::email, statements);
  statements.push_back({"login_attempts_refund",
                        "UPDATE login_attempts SET attempts = attempts - 1, blocked_until = NULL "
                        "WHERE key = $1 AND attempts > 0"});
  statements.push_back(
      {"login_attempts_forget", "DELETE FROM login_attempts WHERE key = " + key_sql(Key::email)});
  statements.push_back({"login_attempts_prune",
                        "DELETE FROM login_attempts WHERE key IN (SELECT key FROM login_attempts "
                        "WHERE expires_at <= now() ORDER BY expires_at LIMIT " +
                            std::to_string(kPruneRows) + " FOR UPDATE SKIP LOCKED)"});
  return statements;
}

std::optional<int> LoginLimiter::count(Key kind, const std::string& text, int backoff_cap_seconds) {
  const std::string suffix = key_suffix(kind);
  std::vector<common::Statement> batch = {
      {"login_attempts_ensure" + suffix, {text, std::to_string(kWindowSeconds)}},
      {"login_attempts_count" + suffix,
       {text, std::to_string(max_failures_), std::to_string(kWindowSeconds),
        std::to_string(backoff_cap_seconds)}},
  };
  if (calls_.fetch_add(1, std::memory_order_relaxed) % kPruneEvery == 0) {
    batch.push_back({"login_attempts_prune", {}});
  }
  auto results = database_.run(std::move(batch));  // one transaction
  const auto& row = results[1];
  if (row.empty() || !row.boolean(0, 0)) return std::nullopt;
  return static_cast<int>(std::max(1LL, row.integer(0, 1)));
}

std::optional<int> LoginLimiter::count_attempt(const std::string& address,
                                               const std::string& email) {
  // The address first: an attempt it refuses is not counted against the email.
  if (auto wait = count(Key::address, address_key(address), 0)) return wait;
  return count(Key::email, email, kMaxBackoffSeconds);
}

std::optional<int> LoginLimiter::count_mail_request(const std::string& address) {
  return count(Key::address, "mail_" + address_key(address), 0);
}

void LoginLimiter::succeeded(const std::string& address, const std::string& email) {
  database_.run(
      {{"login_attempts_refund", {address_key(address)}}, {"login_attempts_forget", {email}}});
}

void LoginLimiter::forget_email(const std::string& email) {
  database_.run({"login_attempts_forget", {email}});
}

std::string LoginLimiter::address_key(const std::string& address) {
  unsigned char bytes[16];
  if (::inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char text[INET6_ADDRSTRLEN];
    if (std::equal(kMapped, kMapped + 12, bytes)) {
      ::inet_ntop(AF_INET, bytes + 12, text, sizeof text);
      return "address:" + std::string(text);
    }
    std::fill(bytes + 8, bytes + 16, 0);
    ::inet_ntop(AF_INET6, bytes, text, sizeof text);
    return "address:" + std::string(text) + "/64";
  }
  return "address:" + address;
}

}  // namespace users
