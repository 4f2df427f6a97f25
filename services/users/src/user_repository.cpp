// All SQL about users. The database decides uniqueness (a unique index on
// lower(email)); this file reports its decision as DuplicateEmail.
#include "user_repository.hpp"

namespace users {
namespace {

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

void UserRepository::prepare(pqxx::connection& connection) {
  const std::string columns = kColumns;
  connection.prepare("users_insert",
                     "INSERT INTO users (username, email) VALUES ($1, $2) RETURNING " + columns);
  connection.prepare("users_insert_if_missing",
                     "INSERT INTO users (username, email) VALUES ($1, $2) "
                     "ON CONFLICT ((lower(email))) DO NOTHING RETURNING id");
  connection.prepare("users_by_id", "SELECT " + columns + " FROM users WHERE id = $1");
  connection.prepare("users_all", "SELECT " + columns + " FROM users ORDER BY id");
  connection.prepare("users_newest_first",
                     "SELECT " + columns + " FROM users ORDER BY created_at DESC, id DESC");
  connection.prepare("users_ping", "SELECT 1");
  prepare_auth(connection);
}

User UserRepository::add(const NewUser& user) {
  return pool_.run([&](pqxx::connection& connection) {
    try {
      pqxx::work work(connection);
      auto result = work.exec_prepared1("users_insert", user.username, user.email);
      work.commit();
      return to_user(result);
    } catch (const pqxx::unique_violation&) {
      throw DuplicateEmail();
    }
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
  return pool_.run([&](pqxx::connection& connection) -> std::optional<User> {
    pqxx::nontransaction work(connection);
    auto result = work.exec_prepared("users_by_id", id);
    if (result.empty()) return std::nullopt;
    return to_user(result[0]);
  });
}

std::vector<User> UserRepository::all() {
  return pool_.run([](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    return to_users(work.exec_prepared("users_all"));
  });
}

std::vector<User> UserRepository::newest_first() {
  return pool_.run([](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    return to_users(work.exec_prepared("users_newest_first"));
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
