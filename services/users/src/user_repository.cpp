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

}  // namespace users
