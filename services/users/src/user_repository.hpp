// UserRepository: every SQL statement about users, as prepared statements.
// The rest of the service sees Users and NewUsers, never SQL. The server's
// calls run on the event loops (common/database.hpp: the calling fiber
// waits, the loop does not); so do the manage command line's, on a
// LoopRunner's loop.
#pragma once

#include <atomic>
#include <optional>
#include <stdexcept>
#include <vector>

#include "common/batcher.hpp"
#include "common/database.hpp"
#include "mail_templates.hpp"
#include "user.hpp"
#include "validation.hpp"

namespace users {

// The unique index on lower(email) refused the insert.
class DuplicateEmail : public std::runtime_error {
 public:
  DuplicateEmail() : std::runtime_error("email already exists") {}
};

// A change would leave no active admin (manage without --force).
class LastAdmin : public std::runtime_error {
 public:
  LastAdmin() : std::runtime_error("The last admin cannot be removed.") {}
};

// A user with what authentication needs (never sent as is to a client).
struct Account {
  User user;
  bool admin = false;
  std::optional<std::string> password_hash;  // NULL for users made before auth
  long long token_version = 0;               // tokens of another version are refused
  bool email_verified = false;               // proved by a mailed link or a reset
  bool session_open = false;                 // the token's session (find_account's), not ended
};

// An access token's user and session: what each authenticated request looks up.
struct SessionKey {
  long long user_id = 0;
  long long session_id = 0;
  bool operator==(const SessionKey& other) const {
    return user_id == other.user_id && session_id == other.session_id;
  }
};
// A mail carrying an account token, as the flows hand it over: the
// repository writes the token's row and the mail's outbox row in one
// statement, so neither exists without the other.
struct TokenMail {
  std::string purpose;     // "reset" or "verify"
  std::string token_hash;  // account_token_hash(): the token itself never reaches SQL
  int ttl_seconds = 0;
  std::string template_name;
  RenderedMail mail;
  std::string message_id_domain;  // Message-IDs are <uuid@domain>, as MailOutbox's
};

// What a token mail request may be refused for beyond "no such account":
// the account must be unverified (resend), and at most `max_per_hour`
// mails of the purpose go to one address an hour.
struct TokenMailRules {
  bool only_unverified = false;
  int max_per_hour = 3;
};

// The row versions a conditional change accepts (If-Match): nullopt for any
// (no condition), an empty list for none (412 whatever the row's version).
using ExpectedVersions = std::optional<std::vector<long long>>;

// Who asks for a change through the API, as their token says. Checked again
// inside the change's transaction, after the admin lock when it takes it: a
// token checked a moment before may have been revoked, or its user demoted,
// by a change that committed meanwhile.
struct Actor {
  long long id = 0;
  long long token_version = 0;
  bool needs_admin = false;  // acting on another user, or on more than their own username
  long long session_id = 0;  // its token's session, which must still be open
};

// What a conditional change found: done; no such user; If-Match names an
// older version; it would leave no active admin; or the actor may no longer
// do it (gone or revoked token, disabled, no longer an admin).
enum class ChangeStatus {
  done,
  absent,
  stale,
  last_admin,
  actor_revoked,
  actor_disabled,
  actor_not_admin
};

struct UpdateResult {
  ChangeStatus status = ChangeStatus::absent;
  std::optional<Account> account;  // the row as it is now, when done
};

struct DeleteResult {
  ChangeStatus status = ChangeStatus::absent;
  std::string email;  // the deleted user's, when done
};

// What a manage command did to the user with that email; nullopt when none has it.
struct ManagedUser {
  long long id = 0;
  std::string email;
};

// Where a page starts and how long it is: ids after `from` (ascending pages)
// or before it (newest first), at most `limit` of them.
struct PageKey {
  long long from = 0;
  int limit = 0;
  bool operator==(const PageKey& other) const { return from == other.from && limit == other.limit; }
};

// find(), add(), the pages and the account reads are batched: the callers
// of one loop iteration share one statement (one transaction for adds); a
// lone caller runs the single-row (single-page) statement (see
// common/batcher.hpp). Callers asking for the same page share one answer.
class UserRepository {
 public:
  explicit UserRepository(common::Database& database);

  // The statements every connection of the server prepares.
  static std::vector<common::PreparedStatement> statements();

  // Acknowledged only once committed. Throws DuplicateEmail, also when an
  // earlier caller in the same batch took the email (as two posts would).
  User add(const NewUser& user);
  std::optional<User> find(long long id);
  // Up to `limit` users with id > after_id, in id (insertion) order.
  UserRows page_after(long long after_id, int limit);
  // Up to `limit` users with id < before_id (all when nullopt), newest first.
  UserRows newest_before(std::optional<long long> before_id, int limit);
  void ping();  // select 1; throws when the database is down

  // One statement for many: each key's row (nullopt: no such user / the
  // email exists), in the keys' order. Public for the batchers and tests.
  std::vector<std::optional<User>> find_many(const std::vector<long long>& ids);
  std::vector<std::optional<User>> add_many(const std::vector<NewUser>& users);
  // Each key's page: ids after key.from in id order, or (newest_first) ids
  // before key.from, newest first.
  std::vector<UserRows> pages_many(bool newest_first, const std::vector<PageKey>& keys);

  // Authentication (the password is the Argon2id hash, never clear text).
  // DuplicateEmail. With `verification`, its token and mail are written in
  // the same transaction as the user.
  User add_with_password(const NewUser& user, const std::string& password_hash,
                         const std::optional<TokenMail>& verification = std::nullopt);
  // The account with whether that session of it is open, in one statement
  // (batched like find()): the token's whole database check in one round
  // trip. The same statement marks the session used, at most once a minute,
  // so most requests write nothing.
  std::optional<Account> find_account(long long id, long long session_id);
  // The account alone (session_open false), batched with the lookups above.
  std::optional<Account> find_account(long long id) { return find_account(id, 0); }
  std::vector<std::optional<Account>> find_accounts_many(const std::vector<SessionKey>& keys);
  std::optional<Account> find_account_by_email(const std::string& email);  // case-insensitive

  // The account's life, each one transaction that locks the row first, so
  // the version compared is the one changed. update() throws DuplicateEmail
  // (the unique index decides, also between concurrent changes); a change
  // to active=false bumps token_version (every token of the user stops).
  // The last active admin stays one: a change that would demote, deactivate
  // or delete an active admin takes the admin lock (after the row's lock, in
  // every path, so no two wait on each other) and then counts the others;
  // under READ COMMITTED a transaction alone would let two admins demote
  // each other (write skew).
  // A change of the email makes the account unverified; with
  // `verification`, its token and mail to the new address are written by the
  // same statement.
  UpdateResult update(long long id, const UserChanges& changes, const ExpectedVersions& expected,
                      const Actor& actor,
                      const std::optional<TokenMail>& verification = std::nullopt);
  DeleteResult remove(long long id, const ExpectedVersions& expected, const Actor& actor);
  // True when a user has this email (compared as the unique index does).
  bool email_exists(const std::string& email);
  // Stores the new hash and bumps token_version, if the row is still at
  // `token_version` (the caller's token's) and the caller's session is open;
  // in the same statement ends the user's other sessions and gives the
  // caller's session `refresh_hash` as its only refresh token (for
  // `refresh_ttl_seconds`). The new version, or nullopt when the user is gone
  // or their token was revoked meanwhile.
  std::optional<long long> change_password(long long id, long long token_version,
                                           const std::string& password_hash, long long session_id,
                                           const std::string& refresh_hash,
                                           int refresh_ttl_seconds);

  // Account tokens (db/migrations/0007_account_tokens.sql).
  // Writes `mail`'s token and outbox row for the active account with this
  // email, unless `rules` refuse it; true when a mail was queued. Costs one
  // round trip and one WAL flush whether or not the account exists: every
  // call writes the address's mail_requests row, whose lock also makes
  // concurrent requests for the address count each other's mails.
  bool queue_token_mail(const std::string& email, const TokenMail& mail,
                        const TokenMailRules& rules);
  // True when an unused, unexpired token of `purpose` has this hash (a
  // check before the slow hash of a new password; the use decides again).
  bool token_usable(const std::string& token_hash, const std::string& purpose);
  // Uses a reset token: the active account gets the new password, a bumped
  // token_version (every token of the user stops) and a verified email; the
  // user's other reset tokens end. nullopt when the token is not usable.
  std::optional<Account> reset_password(const std::string& token_hash,
                                        const std::string& password_hash);
  // Uses a verification token: the account is verified if its email is still
  // the one the token was mailed to. False when the token is not usable.
  bool verify_email(const std::string& token_hash);

  // The manage command line's (on a LoopRunner's loop).
  // Adds the user unless the email exists; true if added.
  bool add_if_missing(const NewUser& user);
  // Makes the user an active, verified admin with this password, adding them
  // if the email is new. A reset password revokes the user's tokens and ends
  // their sessions.
  void save_admin(const NewUser& user, const std::string& password_hash);
  // The next three throw LastAdmin rather than remove the last active admin,
  // unless `force`.
  // Deactivates (and revokes every token of) the user with that email.
  std::optional<ManagedUser> deactivate(const std::string& email, bool force);
  std::optional<ManagedUser> remove_by_email(const std::string& email, bool force);
  std::optional<ManagedUser> set_admin(const std::string& email, bool admin, bool force);

 private:
  // Runs a manage statement (users_*_by_email: $1 the email, $2
  // `removes_admin`, then `extra`) after the row's and the admin's locks.
  std::optional<ManagedUser> change_by_email(const char* statement, const std::string& email,
                                             bool removes_admin,
                                             std::vector<std::optional<std::string>> extra);

  common::Database& database_;
  common::Batcher<long long, std::optional<User>> finder_;
  common::Batcher<NewUser, std::optional<User>> adder_;
  common::Batcher<PageKey, UserRows> pager_;
  common::Batcher<PageKey, UserRows> newest_pager_;
  common::Batcher<SessionKey, std::optional<Account>> account_finder_;
  std::atomic<unsigned> mail_requests_{0};  // queue_token_mail's calls; some also prune
};

}  // namespace users
