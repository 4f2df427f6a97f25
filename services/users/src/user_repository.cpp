// All SQL about users. The database decides uniqueness (a unique index on
// lower(email)); this file reports its decision as DuplicateEmail.
#include "user_repository.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "pg_arrays.hpp"

namespace users {
namespace {

// Rows per statement: more waiters wait for the next batch. pgbench gains
// little beyond a few dozen ids per statement.
constexpr std::size_t kMaxBatch = 64;
// Pages per statement: a page holds up to 1000 rows, and every caller of a
// batch waits for all of its rows.
constexpr std::size_t kMaxPageBatch = 16;

const char* const kUniqueViolation = "23505";

// Mail requests per prune of at most kMailRequestsPruneRows rows of
// mail_requests: a request pays for a little of the cleanup, and the prunes
// delete more than the requests between them add.
constexpr unsigned kMailRequestsPruneEvery = 16;
constexpr int kMailRequestsPruneRows = 100;

// The admin lock (a transaction-level advisory lock, released at COMMIT or
// ROLLBACK): every change that removes an active admin holds it while it
// counts the others. Always taken after the changed row's lock.
// Its key is 0x61646d696e, "admin" in ASCII (the migrations' is "user").
constexpr const char* kAdminLock = "pg_advisory_xact_lock(418296719726)";

// An If-Match condition: $2 is NULL (none) or the versions it accepts.
constexpr const char* kIfVersion = "($2::bigint[] IS NULL OR row_version = ANY($2::bigint[]))";

// Why a change of user $1 may not go ahead (NULL: it may), in the order the
// answers take: the actor first (its id, token version, session and whether
// it needs to be an admin at the parameters `actor`, `version`, `session`,
// `needs_admin`), as
// authenticate() checks it; then the last active admin, when the change
// `removes` one (an SQL boolean) and the row is at an accepted version.
// Its own statement, run after the admin lock, sees every change that
// committed before it.
std::string verdict_sql(const std::string& actor, const std::string& version,
                        const std::string& session, const std::string& needs_admin,
                        const std::string& removes) {
  return "actor AS (SELECT active, admin, token_version FROM users WHERE id = " + actor +
         "::bigint),"
         " verdict AS (SELECT CASE"
         " WHEN NOT EXISTS (SELECT FROM actor) THEN 'actor_revoked'"
         " WHEN NOT (SELECT active FROM actor) THEN 'actor_disabled'"
         " WHEN (SELECT token_version FROM actor) <> " +
         version +
         "::bigint THEN 'actor_revoked'"
         " WHEN NOT EXISTS (SELECT FROM sessions WHERE id = " +
         session + "::bigint AND user_id = " + actor +
         "::bigint AND ended_at IS NULL) THEN 'actor_revoked'"
         " WHEN " +
         needs_admin +
         "::boolean AND NOT (SELECT admin FROM actor) THEN 'actor_not_admin'"
         " WHEN " +
         removes +
         " AND EXISTS (SELECT FROM users WHERE id = $1::bigint AND admin AND active AND " +
         kIfVersion +
         ") AND NOT EXISTS (SELECT FROM users WHERE admin AND active AND id <> $1::bigint)"
         " THEN 'last_admin' END AS refusal)";
}

// The rules that revoke a user's tokens, each written once for every
// statement that applies it (token_version is qualified: an INSERT's ON
// CONFLICT branch also sees `excluded`).
// Deactivation: setting active to false (`active`, an SQL boolean; NULL
// leaves it as it is) bumps token_version, so every token of the user stops.
std::string set_active_sql(const std::string& active) {
  return "active = COALESCE(" + active + ", active), token_version = users.token_version + " +
         "CASE WHEN " + active + " = false THEN 1 ELSE 0 END";
}

// A new address (`email`, an SQL text; NULL keeps it) is not verified: the
// same address in another case is the same mailbox and stays verified.
std::string set_email_sql(const std::string& email) {
  return "email_verified = CASE WHEN " + email + " IS NOT NULL AND lower(" + email +
         ") <> lower(users.email) THEN false ELSE users.email_verified END";
}

// A new password (`hash`, an SQL text) revokes every token of the user.
std::string set_password_sql(const std::string& hash) {
  return "password = " + hash + ", token_version = users.token_version + 1";
}

// A manage command's change to the user whose email is $1: `change` is the
// UPDATE ... WHERE or DELETE ... WHERE that this completes. When $2 (the
// change removes an active admin and is not forced) and no other active
// admin remains, it is refused ('last_admin'), as through the API; its own
// statement, after the admin lock, sees every change that committed before.
std::string managed_change_sql(const std::string& change) {
  return "WITH verdict AS (SELECT CASE WHEN $2::boolean"
         " AND EXISTS (SELECT FROM users WHERE lower(email) = lower($1::text) AND admin AND active)"
         " AND NOT EXISTS (SELECT FROM users WHERE admin AND active"
         " AND lower(email) <> lower($1::text)) THEN 'last_admin' END AS refusal),"
         " changed AS (" +
         change +
         " lower(email) = lower($1::text) AND (SELECT refusal FROM verdict) IS NULL"
         " RETURNING id, email)"
         " SELECT changed.id, changed.email, verdict.refusal FROM verdict LEFT JOIN changed ON "
         "true";
}

// A token mail's two rows, written by the statement these CTEs end: the
// token (its hash) for each account of the CTE `source` (columns id and
// email: none or one account), and its mail to that address. $p.. $p+7:
// purpose, token hash, lifetime in seconds, template, subject, text part,
// HTML part, the Message-ID's domain (Message-IDs as MailOutbox::enqueue
// makes them).
std::string token_mail_ctes(const std::string& source, int p) {
  auto param = [p](int i) { return "$" + std::to_string(p + i); };
  return "token AS (INSERT INTO account_tokens (token_hash, purpose, user_id, email, expires_at)"
         " SELECT " +
         param(1) + "::text, " + param(0) + "::text, id, email, now() + make_interval(secs => " +
         param(2) + "::int) FROM " + source +
         " RETURNING email),"
         " mail AS (INSERT INTO mail_outbox"
         " (recipient, template, subject, text_body, html_body, message_id)"
         " SELECT email, " +
         param(3) + "::text, " + param(4) + "::text, " + param(5) + "::text, " + param(6) +
         "::text, '<' || gen_random_uuid() || '@' || " + param(7) +
         "::text || '>' FROM token RETURNING id)";
}

std::vector<std::optional<std::string>> token_mail_params(const std::optional<TokenMail>& mail) {
  if (!mail) return std::vector<std::optional<std::string>>(8);
  return {mail->purpose,       mail->token_hash,       std::to_string(mail->ttl_seconds),
          mail->template_name, mail->mail.subject,     mail->mail.text,
          mail->mail.html,     mail->message_id_domain};
}

// account_tokens_queue's parameters.
std::vector<std::optional<std::string>> token_queue_params(const std::string& email,
                                                           const TokenMail& mail,
                                                           const TokenMailRules& rules) {
  std::vector<std::optional<std::string>> params = {email};
  for (auto& param : token_mail_params(mail)) params.push_back(std::move(param));
  params.emplace_back(rules.only_unverified ? "true" : "false");
  params.emplace_back(std::to_string(rules.max_per_hour));
  return params;
}

ChangeStatus refusal_status(std::string_view refusal) {
  if (refusal == "last_admin") return ChangeStatus::last_admin;
  if (refusal == "actor_disabled") return ChangeStatus::actor_disabled;
  if (refusal == "actor_not_admin") return ChangeStatus::actor_not_admin;
  return ChangeStatus::actor_revoked;
}

// A session's last_used_at is marked again only once it is a minute old: a
// write a minute per session in use, not one per request.
constexpr const char* kStale = "last_used_at < now() - interval '1 minute'";

// Whether the session `sid` (an SQL bigint) of the row's user is open.
std::string session_open(const std::string& sid) {
  return "EXISTS (SELECT FROM sessions s WHERE s.id = " + sid +
         " AND s.user_id = users.id AND s.ended_at IS NULL)";
}

// created_at leaves the database already in ISO 8601 UTC.
constexpr const char* kColumns =
    "id, username, email, active, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), row_version,"
    " email_verified";
// The column after kColumns's (a statement's extra column, e.g. ordinality).
constexpr int kAfterUser = 7;
// The column after an account's (kColumns, admin, password, token_version).
constexpr int kAfterAccount = kAfterUser + 3;

User to_user(const common::Rows& rows, int row) {
  User user;
  user.id = rows.integer(row, 0);
  user.username = rows.text(row, 1);
  user.email = rows.text(row, 2);
  user.active = rows.boolean(row, 3);
  user.created_at = rows.text(row, 4);
  user.version = rows.integer(row, 5);
  user.email_verified = rows.boolean(row, 6);
  return user;
}

Account to_account(const common::Rows& rows, int row) {
  Account account;
  account.user = to_user(rows, row);
  account.admin = rows.boolean(row, kAfterUser);
  if (!rows.is_null(row, kAfterUser + 1)) {
    account.password_hash = std::string(rows.text(row, kAfterUser + 1));
  }
  account.token_version = rows.integer(row, kAfterUser + 2);
  account.email_verified = account.user.email_verified;
  return account;
}

// Many pages in one statement: one index range scan per page (LATERAL),
// each row tagged with its page's position among the keys.
std::string pages_statement(const std::string& columns, bool newest_first) {
  return "SELECT page.*, input.ordinality FROM unnest($1::bigint[], $2::int[])"
         " WITH ORDINALITY AS input(from_id, max_rows, ordinality) CROSS JOIN LATERAL (SELECT " +
         columns + " FROM users WHERE id " +
         (newest_first ? "< input.from_id ORDER BY id DESC" : "> input.from_id ORDER BY id") +
         " LIMIT input.max_rows) AS page ORDER BY input.ordinality, page.id" +
         (newest_first ? " DESC" : "");
}

}  // namespace

// Batches of one kind a loop runs at once: as many as it has connections
// (each runs one at a time), so that under load the next batch grows while
// the running ones finish.
UserRepository::UserRepository(common::Database& database)
    : database_(database),
      finder_([this](const std::vector<long long>& ids) { return find_many(ids); },
              database.connections_per_loop(), kMaxBatch),
      adder_([this](const std::vector<NewUser>& users) { return add_many(users); },
             database.connections_per_loop(), kMaxBatch),
      pager_([this](const std::vector<PageKey>& keys) { return pages_many(false, keys); },
             database.connections_per_loop(), kMaxPageBatch),
      newest_pager_([this](const std::vector<PageKey>& keys) { return pages_many(true, keys); },
                    database.connections_per_loop(), kMaxPageBatch),
      account_finder_(
          [this](const std::vector<SessionKey>& keys) { return find_accounts_many(keys); },
          database.connections_per_loop(), kMaxBatch) {}

// Parameters are bigint so that any id a client sends compares (with the
// primary key index: int4 vs int8 is one btree family) instead of failing a
// cast.
std::vector<common::PreparedStatement> UserRepository::statements() {
  const std::string columns = kColumns;
  const std::string account = columns + ", admin, password, token_version";
  const std::string if_version = kIfVersion;
  return {
      {"users_insert",
       "INSERT INTO users (username, email) VALUES ($1::text, $2::text) RETURNING " + columns},
      {"users_by_id", "SELECT " + columns + " FROM users WHERE id = $1::bigint"},
      {"users_ping", "SELECT 1"},
      {"users_by_ids", "SELECT " + columns + " FROM users WHERE id = ANY($1::bigint[])"},
      // Rows go in sorted by the index's key, so that two batches on two
      // loops take the index's entries in the same order and can never
      // deadlock (in the callers' order, a@ then b@ against b@ then a@ did).
      // Callers of one batch are concurrent, so no order among them is lost.
      // DO NOTHING skips a row whose email exists, also when an earlier row of
      // this very statement added it: the first caller of an email wins, as
      // with separate posts. The result maps each added row back to its caller
      // by the same lower() the index uses.
      {"users_insert_many",
       "WITH input AS ("
       " SELECT username, email, ordinality FROM unnest($1::text[], $2::text[])"
       " WITH ORDINALITY AS t(username, email, ordinality)),"
       " added AS ("
       " INSERT INTO users (username, email) SELECT username, email FROM input"
       " ORDER BY lower(email), ordinality ON CONFLICT ((lower(email))) DO NOTHING"
       " RETURNING " +
           columns +
           ")"
           " SELECT added.*, first.ordinality FROM added JOIN"
           " (SELECT lower(email) AS email_key, min(ordinality) AS ordinality"
           " FROM input GROUP BY lower(email)) AS first"
           " ON first.email_key = lower(added.email)"},
      {"users_pages_after", pages_statement(columns, false)},
      {"users_pages_newest_before", pages_statement(columns, true)},
      {"users_page_after",
       "SELECT " + columns + " FROM users WHERE id > $1::bigint ORDER BY id LIMIT $2::int"},
      {"users_newest_before",
       "SELECT " + columns + " FROM users WHERE id < $1::bigint ORDER BY id DESC LIMIT $2::int"},
      // Authentication.
      // Registered users are active.
      {"users_insert_with_password",
       "INSERT INTO users (username, email, password, active) "
       "VALUES ($1::text, $2::text, $3::text, true) RETURNING " +
           columns},
      // A token's check: the account and whether its session ($2) is open,
      // marking the session used when it was last marked over a minute ago
      // (SKIP LOCKED: a request never waits for that mark).
      {"users_account_by_session",
       "WITH touched AS (UPDATE sessions SET last_used_at = now() WHERE id = (SELECT id"
       " FROM sessions WHERE id = $2::bigint AND user_id = $1::bigint AND ended_at IS NULL"
       " AND " +
           std::string(kStale) + " FOR UPDATE SKIP LOCKED)) SELECT " + account + ", " +
           session_open("$2::bigint") + " FROM users WHERE id = $1::bigint"},
      {"users_accounts_by_sessions",
       "WITH input AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS t(user_id, sid)),"
       " touched AS (UPDATE sessions SET last_used_at = now() WHERE id IN (SELECT s.id"
       " FROM sessions s JOIN input ON s.id = input.sid AND s.user_id = input.user_id"
       " WHERE s.ended_at IS NULL AND s." +
           std::string(kStale) +
           " ORDER BY s.id FOR UPDATE OF s SKIP LOCKED))"
           " SELECT " +
           account + ", " + session_open("input.sid") +
           ", input.sid FROM input JOIN users ON users.id = input.user_id"},
      {"users_account_by_email",
       "SELECT " + account + " FROM users WHERE lower(email) = lower($1::text)"},
      // The account's life: the row is locked first (FOR UPDATE waits for a
      // concurrent change and then sees its result), so "absent" and "stale"
      // are told apart on the row the change then sees.
      {"users_lock", "SELECT row_version FROM users WHERE id = $1::bigint FOR UPDATE"},
      // Only when the change removes ($2) an active admin; after users_lock,
      // so the row's admin and active are the ones the change will see.
      {"users_admin_lock", std::string("SELECT ") + kAdminLock +
                               " FROM users WHERE id = $1::bigint AND admin AND active"
                               " AND $2::boolean"},
      // $7-$9 and $18 the actor (verdict_sql). The row comes back with the verdict:
      // NULL columns and a refusal, or the row and NULL.
      {"users_update",
       "WITH " +
           verdict_sql("$7", "$8", "$18", "$9",
                       "(coalesce(NOT $5::boolean, false) OR coalesce(NOT $6::boolean, false))") +
           ", changed AS (UPDATE users SET username = COALESCE($3::text, username),"
           " email = COALESCE($4::text, email), admin = COALESCE($6::boolean, admin), " +
           set_active_sql("$5::boolean") + ", " + set_email_sql("$4::text") +
           " WHERE id = $1::bigint AND " + if_version +
           " AND (SELECT refusal FROM verdict) IS NULL RETURNING " + account +
           "),"
           // $10-$17 the verification mail to a new address (NULLs: none).
           " mailed AS (SELECT id, email FROM changed WHERE $4::text IS NOT NULL"
           " AND NOT email_verified AND $11::text IS NOT NULL), " +
           token_mail_ctes("mailed", 10) +
           " SELECT changed.*, verdict.refusal FROM verdict LEFT JOIN changed ON true"},
      {"users_delete",
       "WITH " + verdict_sql("$3", "$4", "$6", "$5", "true") +
           ", changed AS (DELETE FROM users WHERE id = $1::bigint AND " + if_version +
           " AND (SELECT refusal FROM verdict) IS NULL RETURNING email)"
           " SELECT changed.email, verdict.refusal FROM verdict LEFT JOIN changed ON true"},
      {"users_email_exists", "SELECT FROM users WHERE lower(email) = lower($1::text)"},
      // The caller's session ($4) stays, with the new refresh token ($5) as
      // its only one; every other session of the user ends.
      {"users_change_password",
       "WITH changed AS (UPDATE users SET " + set_password_sql("$3::text") +
           " WHERE id = $1::bigint AND token_version = $2::bigint AND EXISTS (SELECT FROM"
           " sessions WHERE id = $4::bigint AND user_id = $1::bigint AND ended_at IS NULL)"
           " RETURNING token_version),"
           " ended AS (UPDATE sessions SET ended_at = now() WHERE user_id = $1::bigint"
           " AND id <> $4::bigint AND ended_at IS NULL AND EXISTS (SELECT FROM changed)),"
           " dropped AS (DELETE FROM refresh_tokens WHERE session_id = $4::bigint"
           " AND EXISTS (SELECT FROM changed)),"
           " added AS (INSERT INTO refresh_tokens (hash, session_id, expires_at)"
           " SELECT $5::bytea, $4::bigint, now() + $6::integer * interval '1 second'"
           " FROM changed) SELECT token_version FROM changed"},
      // The manage command line's.
      {"users_insert_if_missing",
       "INSERT INTO users (username, email) VALUES ($1::text, $2::text)"
       " ON CONFLICT ((lower(email))) DO NOTHING RETURNING id"},
      {"users_save_admin",
       "WITH saved AS (INSERT INTO users (username, email, password, admin, active, email_verified)"
       " VALUES ($1::text, $2::text, $3::text, true, true, true) ON CONFLICT ((lower(email)))"
       " DO UPDATE SET admin = true, active = true, email_verified = true, " +
           set_password_sql("excluded.password") +
           " RETURNING id) UPDATE sessions SET ended_at = now()"
           " WHERE user_id IN (SELECT id FROM saved) AND ended_at IS NULL"},
      {"users_lock_by_email",
       "SELECT id FROM users WHERE lower(email) = lower($1::text) FOR UPDATE"},
      // Only when $2 (the change removes an active admin, unforced).
      {"users_admin_lock_by_email",
       std::string("SELECT ") + kAdminLock +
           " FROM users WHERE lower(email) = lower($1::text) AND admin AND active"
           " AND $2::boolean"},
      {"users_deactivate_by_email",
       managed_change_sql("UPDATE users SET " + set_active_sql("false") + " WHERE")},
      {"users_delete_by_email", managed_change_sql("DELETE FROM users WHERE")},
      {"users_set_admin_by_email",
       managed_change_sql("UPDATE users SET admin = $3::boolean WHERE")},
      // Every mail request writes (and locks) its address's row, known
      // address or not: each commit then waits for one WAL flush, so the
      // answer's time does not tell whether the address has an account
      // (db/migrations/0009_mail_requests.sql).
      {"mail_requests_touch",
       "INSERT INTO mail_requests (email, requested_at) VALUES (lower($1::text), now())"
       " ON CONFLICT (email) DO UPDATE SET requested_at = excluded.requested_at"},
      {"mail_requests_prune",
       "DELETE FROM mail_requests WHERE email IN (SELECT email FROM mail_requests"
       " WHERE requested_at < now() - interval '1 hour' ORDER BY requested_at LIMIT " +
           std::to_string(kMailRequestsPruneRows) + " FOR UPDATE SKIP LOCKED)"},
      // Account tokens. After mail_requests_touch (the address's lock): the
      // count sees every mail a concurrent request for the address committed.
      // $1 the email, $2-$9 the mail (token_mail_ctes), $10 only an
      // unverified account, $11 the mails allowed an hour.
      {"account_tokens_queue",
       "WITH target AS (SELECT id, email FROM users WHERE lower(email) = lower($1::text)"
       " AND active AND NOT ($10::boolean AND email_verified)"
       " AND (SELECT count(*) FROM account_tokens WHERE lower(email) = lower($1::text)"
       " AND purpose = $2::text AND created_at > now() - interval '1 hour') < $11::int), " +
           token_mail_ctes("target", 2) + " SELECT count(*) FROM mail"},
      {"account_tokens_usable",
       "SELECT FROM account_tokens WHERE token_hash = $1::text AND purpose = $2::text"
       " AND used_at IS NULL AND expires_at > now()"},
      // A token mailed to an address the account no longer has is used up
      // for nothing: it proves nothing about the account's address now.
      {"account_tokens_reset",
       "WITH used AS (UPDATE account_tokens SET used_at = now() WHERE token_hash = $1::text"
       " AND purpose = 'reset' AND used_at IS NULL AND expires_at > now()"
       " RETURNING user_id, email),"
       " changed AS (UPDATE users SET " +
           set_password_sql("$2::text") +
           ", email_verified = true WHERE id = (SELECT user_id FROM used)"
           " AND lower(email) = lower((SELECT email FROM used)) AND active RETURNING " +
           account +
           "),"
           " others AS (UPDATE account_tokens SET used_at = now() WHERE purpose = 'reset'"
           " AND used_at IS NULL AND token_hash <> $1::text"
           " AND user_id = (SELECT id FROM changed)),"
           // A reset ends every session: whoever else was logged in is not
           // any more (the caller then opens a new one).
           " ended AS (UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL"
           " AND user_id = (SELECT id FROM changed))"
           " SELECT * FROM changed"},
      {"account_tokens_verify",
       "WITH used AS (UPDATE account_tokens SET used_at = now() WHERE token_hash = $1::text"
       " AND purpose = 'verify' AND used_at IS NULL AND expires_at > now()"
       " RETURNING user_id, email),"
       " changed AS (UPDATE users SET email_verified = true WHERE id = (SELECT user_id FROM used)"
       " AND lower(email) = lower((SELECT email FROM used)) RETURNING id)"
       " SELECT count(*) FROM changed"},
  };
}

User UserRepository::add(const NewUser& user) {
  auto added = adder_.submit(user);
  if (!added) throw DuplicateEmail();
  return std::move(*added);
}

std::vector<std::optional<User>> UserRepository::add_many(const std::vector<NewUser>& users) {
  std::vector<std::optional<User>> added(users.size());
  if (users.size() == 1) {  // the lone caller: the single-row statement
    try {
      auto rows = database_.run({"users_insert", {users[0].username, users[0].email}});
      added[0] = to_user(rows, 0);
    } catch (const common::SqlError& error) {
      if (error.sqlstate() != kUniqueViolation) throw;
    }
    return added;
  }
  std::vector<std::string> usernames;
  std::vector<std::string> emails;
  for (const auto& user : users) {
    usernames.push_back(user.username);
    emails.push_back(user.email);
  }
  // Answered only after its COMMIT: nobody hears of a user that could vanish.
  auto rows = database_.run({"users_insert_many", {text_array(usernames), text_array(emails)}});
  for (int row = 0; row < rows.size(); ++row) {
    auto position = static_cast<std::size_t>(rows.integer(row, kAfterUser) - 1);  // from 1
    added.at(position) = to_user(rows, row);
  }
  return added;
}

std::optional<User> UserRepository::find(long long id) {
  if (id < 1) return std::nullopt;  // ids start at 1: no query needed
  return finder_.submit(id);
}

std::vector<std::optional<User>> UserRepository::find_many(const std::vector<long long>& ids) {
  std::vector<std::optional<User>> found(ids.size());
  if (ids.size() == 1) {  // the lone caller: the single-row statement
    auto rows = database_.run({"users_by_id", {std::to_string(ids[0])}});
    if (!rows.empty()) found[0] = to_user(rows, 0);
    return found;
  }
  auto rows = database_.run({"users_by_ids", {bigint_array(ids)}});
  std::unordered_map<long long, int> row_of;
  for (int row = 0; row < rows.size(); ++row) row_of.emplace(rows.integer(row, 0), row);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto it = row_of.find(ids[i]);
    if (it != row_of.end()) found[i] = to_user(rows, it->second);
  }
  return found;
}

UserRows UserRepository::page_after(long long after_id, int limit) {
  return pager_.submit(PageKey{after_id, limit});
}

UserRows UserRepository::newest_before(std::optional<long long> before_id, int limit) {
  // No `before`: below the largest id there can be.
  return newest_pager_.submit(
      PageKey{before_id.value_or(std::numeric_limits<long long>::max()), limit});
}

std::vector<UserRows> UserRepository::pages_many(bool newest_first,
                                                 const std::vector<PageKey>& keys) {
  // Callers of the same page (everyone opening GET / at once) share one.
  std::vector<PageKey> distinct;
  std::vector<std::size_t> page_of(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto found = std::find(distinct.begin(), distinct.end(), keys[i]);
    page_of[i] = static_cast<std::size_t>(found - distinct.begin());
    if (found == distinct.end()) distinct.push_back(keys[i]);
  }
  std::vector<UserRows> pages(distinct.size());
  if (distinct.size() == 1) {  // one page: the single-page statement
    auto rows =
        database_.run({newest_first ? "users_newest_before" : "users_page_after",
                       {std::to_string(distinct[0].from), std::to_string(distinct[0].limit)}});
    pages[0] = UserRows(rows, 0, rows.size());
  } else {
    std::vector<long long> from;
    std::vector<long long> limits;
    for (const auto& key : distinct) {
      from.push_back(key.from);
      limits.push_back(key.limit);
    }
    auto rows = database_.run({newest_first ? "users_pages_newest_before" : "users_pages_after",
                               {bigint_array(from), bigint_array(limits)}});
    // The rows come page by page (ordered by the page's position, from 1):
    // each page is a range of them.
    int begin = 0;
    while (begin < rows.size()) {
      auto page = rows.integer(begin, kAfterUser);
      int end = begin + 1;
      while (end < rows.size() && rows.integer(end, kAfterUser) == page) ++end;
      pages.at(static_cast<std::size_t>(page - 1)) = UserRows(rows, begin, end);
      begin = end;
    }
  }
  std::vector<UserRows> answers;
  answers.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) answers.push_back(pages[page_of[i]]);
  return answers;
}

void UserRepository::ping() {
  database_.run(common::Statement{"users_ping", {}});
}

User UserRepository::add_with_password(const NewUser& user, const std::string& password_hash,
                                       const std::optional<TokenMail>& verification) {
  std::vector<common::Statement> statements = {
      {"users_insert_with_password", {user.username, user.email, password_hash}}};
  if (verification) {
    // The next statement of the transaction sees the new row. No hourly
    // limit: the insert makes one account, which gets its one mail, even if
    // the address had mail for an account that has since moved away from it.
    statements.push_back(
        {"account_tokens_queue",
         token_queue_params(user.email, *verification, {true, std::numeric_limits<int>::max()})});
  }
  try {
    auto rows = database_.run(std::move(statements));
    return to_user(rows.at(0), 0);
  } catch (const common::SqlError& error) {
    if (error.sqlstate() == kUniqueViolation) throw DuplicateEmail();
    throw;
  }
}

std::optional<Account> UserRepository::find_account(long long id, long long session_id) {
  if (id < 1 || id > 2147483647LL || session_id < 0) return std::nullopt;
  return account_finder_.submit(SessionKey{id, session_id});
}

std::vector<std::optional<Account>> UserRepository::find_accounts_many(
    const std::vector<SessionKey>& keys) {
  const int open = kAfterAccount;  // after the account's columns
  std::vector<std::optional<Account>> found(keys.size());
  if (keys.size() == 1) {  // the lone caller: the single-row statement
    auto rows =
        database_.run({"users_account_by_session",
                       {std::to_string(keys[0].user_id), std::to_string(keys[0].session_id)}});
    if (!rows.empty()) {
      found[0] = to_account(rows, 0);
      found[0]->session_open = rows.boolean(0, open);
    }
    return found;
  }
  std::vector<long long> ids;
  std::vector<long long> sessions;
  for (const auto& key : keys) {
    ids.push_back(key.user_id);
    sessions.push_back(key.session_id);
  }
  auto rows =
      database_.run({"users_accounts_by_sessions", {bigint_array(ids), bigint_array(sessions)}});
  for (int row = 0; row < rows.size(); ++row) {
    Account account = to_account(rows, row);
    account.session_open = rows.boolean(row, open);
    SessionKey key{account.user.id, rows.integer(row, open + 1)};
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] == key) found[i] = account;
    }
  }
  return found;
}

std::optional<Account> UserRepository::find_account_by_email(const std::string& email) {
  auto rows = database_.run({"users_account_by_email", {email}});
  if (rows.empty()) return std::nullopt;
  return to_account(rows, 0);
}

namespace {

std::optional<std::string> versions_param(const ExpectedVersions& expected) {
  if (!expected) return std::nullopt;
  return bigint_array(*expected);
}

std::optional<std::string> bool_param(const std::optional<bool>& value) {
  if (!value) return std::nullopt;
  return *value ? "true" : "false";
}

ChangeStatus unchanged_status(const common::Rows& lock) {
  return lock.empty() ? ChangeStatus::absent : ChangeStatus::stale;
}

}  // namespace

namespace {

std::vector<std::optional<std::string>> actor_params(const Actor& actor) {
  return {std::to_string(actor.id), std::to_string(actor.token_version),
          actor.needs_admin ? "true" : "false"};
}

}  // namespace

UpdateResult UserRepository::update(long long id, const UserChanges& changes,
                                    const ExpectedVersions& expected, const Actor& actor,
                                    const std::optional<TokenMail>& verification) {
  UpdateResult result;
  if (id < 1) return result;
  const bool removes = changes.active == false || changes.admin == false;
  std::vector<std::optional<std::string>> params = {
      std::to_string(id), versions_param(expected),   changes.username,
      changes.email,      bool_param(changes.active), bool_param(changes.admin)};
  for (auto& param : actor_params(actor)) params.push_back(std::move(param));
  for (auto& param : token_mail_params(verification)) params.push_back(std::move(param));
  params.emplace_back(std::to_string(actor.session_id));  // $18
  std::vector<common::Rows> rows;
  try {
    rows = database_.run({{"users_lock", {std::to_string(id)}},
                          {"users_admin_lock", {std::to_string(id), bool_param(removes)}},
                          {"users_update", std::move(params)}});
  } catch (const common::SqlError& error) {
    if (error.sqlstate() == kUniqueViolation) throw DuplicateEmail();
    throw;
  }
  const auto& verdict = rows.at(2);
  const int refusal = kAfterAccount;
  if (!verdict.is_null(0, refusal)) {
    result.status = refusal_status(verdict.text(0, refusal));
  } else if (verdict.is_null(0, 0)) {
    result.status = unchanged_status(rows.at(0));
  } else {
    result.status = ChangeStatus::done;
    result.account = to_account(verdict, 0);
  }
  return result;
}

DeleteResult UserRepository::remove(long long id, const ExpectedVersions& expected,
                                    const Actor& actor) {
  DeleteResult result;
  if (id < 1) return result;
  std::vector<std::optional<std::string>> params = {std::to_string(id), versions_param(expected)};
  for (auto& param : actor_params(actor)) params.push_back(std::move(param));
  params.emplace_back(std::to_string(actor.session_id));  // $6
  auto rows = database_.run({{"users_lock", {std::to_string(id)}},
                             {"users_admin_lock", {std::to_string(id), "true"}},
                             {"users_delete", std::move(params)}});
  const auto& verdict = rows.at(2);
  if (!verdict.is_null(0, 1)) {
    result.status = refusal_status(verdict.text(0, 1));
  } else if (verdict.is_null(0, 0)) {
    result.status = unchanged_status(rows.at(0));
  } else {
    result.status = ChangeStatus::done;
    result.email = std::string(verdict.text(0, 0));
  }
  return result;
}

bool UserRepository::email_exists(const std::string& email) {
  return !database_.run({"users_email_exists", {email}}).empty();
}

std::optional<long long> UserRepository::change_password(long long id, long long token_version,
                                                         const std::string& password_hash,
                                                         long long session_id,
                                                         const std::string& refresh_hash,
                                                         int refresh_ttl_seconds) {
  auto rows = database_.run(
      {"users_change_password",
       {std::to_string(id), std::to_string(token_version), password_hash,
        std::to_string(session_id), refresh_hash, std::to_string(refresh_ttl_seconds)}});
  if (rows.empty()) return std::nullopt;
  return rows.integer(0, 0);
}

bool UserRepository::queue_token_mail(const std::string& email, const TokenMail& mail,
                                      const TokenMailRules& rules) {
  std::vector<common::Statement> statements = {
      {"mail_requests_touch", {email}},
      {"account_tokens_queue", token_queue_params(email, mail, rules)}};
  if (mail_requests_.fetch_add(1, std::memory_order_relaxed) % kMailRequestsPruneEvery == 0) {
    statements.push_back({"mail_requests_prune", {}});
  }
  auto rows = database_.run(std::move(statements));  // one transaction
  return rows.at(1).integer(0, 0) > 0;
}

bool UserRepository::token_usable(const std::string& token_hash, const std::string& purpose) {
  return !database_.run({"account_tokens_usable", {token_hash, purpose}}).empty();
}

std::optional<Account> UserRepository::reset_password(const std::string& token_hash,
                                                      const std::string& password_hash) {
  auto rows = database_.run({"account_tokens_reset", {token_hash, password_hash}});
  if (rows.empty()) return std::nullopt;
  return to_account(rows, 0);
}

bool UserRepository::verify_email(const std::string& token_hash) {
  return database_.run({"account_tokens_verify", {token_hash}}).integer(0, 0) > 0;
}

bool UserRepository::add_if_missing(const NewUser& user) {
  return !database_.run({"users_insert_if_missing", {user.username, user.email}}).empty();
}

void UserRepository::save_admin(const NewUser& user, const std::string& password_hash) {
  database_.run({"users_save_admin", {user.username, user.email, password_hash}});
}

std::optional<ManagedUser> UserRepository::change_by_email(
    const char* statement, const std::string& email, bool removes_admin,
    std::vector<std::optional<std::string>> extra) {
  const char* checked = removes_admin ? "true" : "false";
  std::vector<std::optional<std::string>> params = {email, checked};
  for (auto& param : extra) params.push_back(std::move(param));
  // The row's lock, then the admin lock, then the change: the API's order.
  auto rows = database_.run({{"users_lock_by_email", {email}},
                             {"users_admin_lock_by_email", {email, checked}},
                             {statement, std::move(params)}});
  const auto& verdict = rows.at(2);
  if (!verdict.is_null(0, 2)) throw LastAdmin();
  if (verdict.is_null(0, 0)) return std::nullopt;
  return ManagedUser{verdict.integer(0, 0), std::string(verdict.text(0, 1))};
}

std::optional<ManagedUser> UserRepository::deactivate(const std::string& email, bool force) {
  return change_by_email("users_deactivate_by_email", email, !force, {});
}

std::optional<ManagedUser> UserRepository::remove_by_email(const std::string& email, bool force) {
  return change_by_email("users_delete_by_email", email, !force, {});
}

std::optional<ManagedUser> UserRepository::set_admin(const std::string& email, bool admin,
                                                     bool force) {
  // Making an admin removes none: no lock beyond the row's.
  return change_by_email("users_set_admin_by_email", email, !admin && !force,
                         {admin ? "true" : "false"});
}

}  // namespace users
