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

// created_at leaves the database already in ISO 8601 UTC.
constexpr const char* kColumns =
    "id, username, email, active, "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

User to_user(const pqxx::row& row) {
  User user;
  user.id = row[0].as<long long>();
  user.username = row[1].as<std::string>();
  user.email = row[2].as<std::string>();
  user.active = row[3].as<bool>();
  user.created_at = row[4].as<std::string>();
  return user;
}

std::vector<User> to_users(const pqxx::result& result) {
  std::vector<User> users;
  users.reserve(result.size());
  for (const auto& row : result) users.push_back(to_user(row));
  return users;
}

Account to_account(const pqxx::row& row) {
  Account account;
  account.user = to_user(row);
  account.admin = row[5].as<bool>();
  if (!row[6].is_null()) account.password_hash = row[6].as<std::string>();
  return account;
}

// The batched statements. Parameters are bigint so that any id a client
// sends compares (with the primary key index: int4 vs int8 is one btree
// family) instead of failing a cast.
void prepare_batched(pqxx::connection& connection) {
  const std::string columns = kColumns;
  connection.prepare("users_by_ids",
                     "SELECT " + columns + " FROM users WHERE id = ANY($1::bigint[])");
  // Rows go in in the callers' order and DO NOTHING skips a row whose email
  // exists, also when an earlier row of this very statement added it: the
  // first caller of an email wins, as with separate posts. The result maps
  // each added row back to its caller by the same lower() the index uses.
  connection.prepare("users_insert_many",
                     "WITH input AS ("
                     " SELECT username, email, ordinality FROM unnest($1::text[], $2::text[])"
                     " WITH ORDINALITY AS t(username, email, ordinality)),"
                     " added AS ("
                     " INSERT INTO users (username, email) SELECT username, email FROM input"
                     " ORDER BY ordinality ON CONFLICT ((lower(email))) DO NOTHING"
                     " RETURNING " +
                         columns +
                         ")"
                         " SELECT added.*, first.ordinality FROM added JOIN"
                         " (SELECT lower(email) AS email_key, min(ordinality) AS ordinality"
                         " FROM input GROUP BY lower(email)) AS first"
                         " ON first.email_key = lower(added.email)");
  // Many pages in one statement: one index range scan per page (LATERAL),
  // each row tagged with its page's position among the keys.
  const std::string pages =
      "SELECT page.*, input.ordinality FROM unnest($1::bigint[], $2::int[])"
      " WITH ORDINALITY AS input(from_id, max_rows, ordinality) CROSS JOIN LATERAL (SELECT " +
      columns + " FROM users WHERE id ";
  connection.prepare("users_pages_after", pages +
                                              "> input.from_id ORDER BY id LIMIT input.max_rows)"
                                              " AS page ORDER BY input.ordinality, page.id");
  connection.prepare("users_pages_newest_before",
                     pages +
                         "< input.from_id ORDER BY id DESC LIMIT input.max_rows)"
                         " AS page ORDER BY input.ordinality, page.id DESC");
  connection.prepare("users_page_after", "SELECT " + columns +
                                             " FROM users WHERE id > $1::bigint ORDER BY id "
                                             "LIMIT $2::int");
  connection.prepare("users_newest_before", "SELECT " + columns +
                                                " FROM users WHERE id < $1::bigint "
                                                "ORDER BY id DESC LIMIT $2::int");
}

// The statements of the authentication routes.
void prepare_auth(pqxx::connection& connection) {
  const std::string columns = kColumns;
  const std::string account = columns + ", admin, password";
  connection.prepare("users_insert_with_password",
                     "INSERT INTO users (username, email, password) VALUES ($1, $2, $3) "
                     "RETURNING " +
                         columns);
  connection.prepare("users_account_by_id", "SELECT " + account + " FROM users WHERE id = $1");
  connection.prepare("users_accounts_by_ids",
                     "SELECT " + account + " FROM users WHERE id = ANY($1::bigint[])");
  connection.prepare("users_account_by_email",
                     "SELECT " + account + " FROM users WHERE lower(email) = lower($1)");
  connection.prepare("users_save_admin",
                     "INSERT INTO users (username, email, password, admin) "
                     "VALUES ($1, $2, $3, true) ON CONFLICT ((lower(email))) "
                     "DO UPDATE SET password = excluded.password, admin = true");
}

}  // namespace

UserRepository::UserRepository(common::DbPool& pool)
    : pool_(pool),
      finder_([this](const std::vector<long long>& ids) { return find_many(ids); },
              pool.stats().size, kMaxBatch),
      adder_([this](const std::vector<NewUser>& users) { return add_many(users); },
             pool.stats().size, kMaxBatch),
      pager_([this](const std::vector<PageKey>& keys) { return pages_many(false, keys); },
             pool.stats().size, kMaxPageBatch),
      newest_pager_([this](const std::vector<PageKey>& keys) { return pages_many(true, keys); },
                    pool.stats().size, kMaxPageBatch),
      account_finder_([this](const std::vector<long long>& ids) { return find_accounts_many(ids); },
                      pool.stats().size, kMaxBatch) {}

void UserRepository::prepare(pqxx::connection& connection) {
  const std::string columns = kColumns;
  connection.prepare("users_insert",
                     "INSERT INTO users (username, email) VALUES ($1, $2) RETURNING " + columns);
  connection.prepare("users_insert_if_missing",
                     "INSERT INTO users (username, email) VALUES ($1, $2) "
                     "ON CONFLICT ((lower(email))) DO NOTHING RETURNING id");
  connection.prepare("users_by_id", "SELECT " + columns + " FROM users WHERE id = $1");
  connection.prepare("users_ping", "SELECT 1");
  prepare_batched(connection);
  prepare_auth(connection);
}

User UserRepository::add(const NewUser& user) {
  auto added = adder_.submit(user);
  if (!added) throw DuplicateEmail();
  return std::move(*added);
}

std::vector<std::optional<User>> UserRepository::add_many(const std::vector<NewUser>& users) {
  return pool_.run([&](pqxx::connection& connection) {
    std::vector<std::optional<User>> added(users.size());
    if (users.size() == 1) {  // the lone caller: the single-row statement
      try {
        pqxx::work work(connection);
        auto row = work.exec_prepared1("users_insert", users[0].username, users[0].email);
        work.commit();
        added[0] = to_user(row);
      } catch (const pqxx::unique_violation&) {
      }
      return added;
    }
    std::vector<std::string> usernames;
    std::vector<std::string> emails;
    for (const auto& user : users) {
      usernames.push_back(user.username);
      emails.push_back(user.email);
    }
    pqxx::work work(connection);
    auto result =
        work.exec_prepared("users_insert_many", text_array(usernames), text_array(emails));
    work.commit();  // before any caller hears of its user
    for (const auto& row : result) {
      auto position = row[5].as<std::size_t>() - 1;  // ordinality counts from 1
      added.at(position) = to_user(row);
    }
    return added;
  });
}

bool UserRepository::add_if_missing(const NewUser& user) {
  return pool_.run([&](pqxx::connection& connection) {
    pqxx::work work(connection);
    auto result = work.exec_prepared("users_insert_if_missing", user.username, user.email);
    work.commit();
    return !result.empty();
  });
}

std::optional<User> UserRepository::find(long long id) {
  if (id < 1) return std::nullopt;  // ids start at 1: no query needed
  return finder_.submit(id);
}

std::vector<std::optional<User>> UserRepository::find_many(const std::vector<long long>& ids) {
  return pool_.run([&](pqxx::connection& connection) {
    std::vector<std::optional<User>> found(ids.size());
    pqxx::nontransaction work(connection);
    if (ids.size() == 1) {  // the lone caller: the single-row statement
      auto result = work.exec_prepared("users_by_id", ids[0]);
      if (!result.empty()) found[0] = to_user(result[0]);
      return found;
    }
    std::unordered_map<long long, User> by_id;
    for (const auto& row : work.exec_prepared("users_by_ids", bigint_array(ids))) {
      User user = to_user(row);
      by_id.emplace(user.id, std::move(user));
    }
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto it = by_id.find(ids[i]);
      if (it != by_id.end()) found[i] = it->second;
    }
    return found;
  });
}

std::vector<User> UserRepository::page_after(long long after_id, int limit) {
  return pager_.submit(PageKey{after_id, limit});
}

std::vector<User> UserRepository::newest_before(std::optional<long long> before_id, int limit) {
  // No `before`: below the largest id there can be.
  return newest_pager_.submit(
      PageKey{before_id.value_or(std::numeric_limits<long long>::max()), limit});
}

std::vector<std::vector<User>> UserRepository::pages_many(bool newest_first,
                                                          const std::vector<PageKey>& keys) {
  // Callers of the same page (everyone opening GET / at once) share one.
  std::vector<PageKey> distinct;
  std::vector<std::size_t> page_of(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto found = std::find(distinct.begin(), distinct.end(), keys[i]);
    page_of[i] = static_cast<std::size_t>(found - distinct.begin());
    if (found == distinct.end()) distinct.push_back(keys[i]);
  }
  auto pages = pool_.run([&](pqxx::connection& connection) {
    std::vector<std::vector<User>> out(distinct.size());
    pqxx::nontransaction work(connection);
    if (distinct.size() == 1) {  // one page: the single-page statement
      out[0] =
          to_users(work.exec_prepared(newest_first ? "users_newest_before" : "users_page_after",
                                      distinct[0].from, distinct[0].limit));
      return out;
    }
    std::vector<long long> from;
    std::vector<long long> limits;
    for (const auto& key : distinct) {
      from.push_back(key.from);
      limits.push_back(key.limit);
    }
    auto result =
        work.exec_prepared(newest_first ? "users_pages_newest_before" : "users_pages_after",
                           bigint_array(from), bigint_array(limits));
    for (const auto& row : result) {
      out.at(row[5].as<std::size_t>() - 1).push_back(to_user(row));  // ordinality from 1
    }
    return out;
  });
  // Each page is moved to its last caller and copied for the others.
  std::vector<std::size_t> last_caller(distinct.size());
  for (std::size_t i = 0; i < keys.size(); ++i) last_caller[page_of[i]] = i;
  std::vector<std::vector<User>> answers;
  answers.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto& page = pages[page_of[i]];
    answers.push_back(last_caller[page_of[i]] == i ? std::move(page) : page);
  }
  return answers;
}

void UserRepository::ping() {
  pool_.run([](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    work.exec_prepared("users_ping");
  });
}

User UserRepository::add_with_password(const NewUser& user, const std::string& password_hash) {
  return pool_.run([&](pqxx::connection& connection) {
    try {
      pqxx::work work(connection);
      auto row = work.exec_prepared1("users_insert_with_password", user.username, user.email,
                                     password_hash);
      work.commit();
      return to_user(row);
    } catch (const pqxx::unique_violation&) {
      throw DuplicateEmail();
    }
  });
}

std::optional<Account> UserRepository::find_account(long long id) {
  if (id < 1 || id > 2147483647LL) return std::nullopt;
  return account_finder_.submit(id);
}

std::vector<std::optional<Account>> UserRepository::find_accounts_many(
    const std::vector<long long>& ids) {
  return pool_.run([&](pqxx::connection& connection) {
    std::vector<std::optional<Account>> found(ids.size());
    pqxx::nontransaction work(connection);
    if (ids.size() == 1) {  // the lone caller: the single-row statement
      auto result = work.exec_prepared("users_account_by_id", ids[0]);
      if (!result.empty()) found[0] = to_account(result[0]);
      return found;
    }
    for (const auto& row : work.exec_prepared("users_accounts_by_ids", bigint_array(ids))) {
      Account account = to_account(row);
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == account.user.id) found[i] = account;
      }
    }
    return found;
  });
}

std::optional<Account> UserRepository::find_account_by_email(const std::string& email) {
  return pool_.run([&](pqxx::connection& connection) -> std::optional<Account> {
    pqxx::nontransaction work(connection);
    auto result = work.exec_prepared("users_account_by_email", email);
    if (result.empty()) return std::nullopt;
    return to_account(result[0]);
  });
}

void UserRepository::save_admin(const NewUser& user, const std::string& password_hash) {
  pool_.run([&](pqxx::connection& connection) {
    pqxx::work work(connection);
    work.exec_prepared("users_save_admin", user.username, user.email, password_hash);
    work.commit();
  });
}

}  // namespace users
