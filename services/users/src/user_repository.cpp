// All SQL about users. The database decides uniqueness (a unique index on
// lower(email)); this file reports its decision as DuplicateEmail.
#include "user_repository.hpp"

#include <limits>
#include <unordered_map>

namespace users {
namespace {

// Rows per statement: more waiters wait for the next batch. pgbench gains
// little beyond a few dozen ids per statement.
constexpr std::size_t kMaxBatch = 64;

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

// A PostgreSQL array literal of text, {"a","b\"c"} (libpqxx 6 has no array
// parameters). Every element is quoted, so commas, braces and NULL are data.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string bigint_array(const std::vector<long long>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
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
  return pool_.run([&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    return to_users(work.exec_prepared("users_page_after", after_id, limit));
  });
}

std::vector<User> UserRepository::newest_before(std::optional<long long> before_id, int limit) {
  return pool_.run([&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    // No `before`: below the largest id there can be.
    auto before = before_id.value_or(std::numeric_limits<long long>::max());
    return to_users(work.exec_prepared("users_newest_before", before, limit));
  });
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
  return pool_.run([&](pqxx::connection& connection) -> std::optional<Account> {
    pqxx::nontransaction work(connection);
    auto result = work.exec_prepared("users_account_by_id", id);
    if (result.empty()) return std::nullopt;
    return to_account(result[0]);
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
