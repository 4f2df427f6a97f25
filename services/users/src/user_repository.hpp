// UserRepository: every SQL statement about users, as prepared statements.
// The rest of the service sees Users and NewUsers, never SQL or libpqxx.
#pragma once

#include <optional>
#include <stdexcept>
#include <vector>

#include "common/db_pool.hpp"
#include "user.hpp"
#include "validation.hpp"

namespace users {

// The unique index on lower(email) refused the insert.
class DuplicateEmail : public std::runtime_error {
 public:
  DuplicateEmail() : std::runtime_error("email already exists") {}
};

// A user with what authentication needs (never sent as is to a client).
struct Account {
  User user;
  bool admin = false;
  std::optional<std::string> password_hash;  // NULL for users made before auth
};

class UserRepository {
 public:
  explicit UserRepository(common::DbPool& pool) : pool_(pool) {}

  // Prepares the statements on a new connection (the pool's on_connect hook).
  static void prepare(pqxx::connection& connection);

  User add(const NewUser& user);  // throws DuplicateEmail
  // Adds the user unless the email exists; true if added.
  bool add_if_missing(const NewUser& user);
  std::optional<User> find(long long id);
  std::vector<User> all();           // insertion order
  std::vector<User> newest_first();  // for the page
  void ping();                       // select 1; throws when the database is down

  // Authentication (the password is the Argon2id hash, never clear text).
  User add_with_password(const NewUser& user, const std::string& password_hash);  // DuplicateEmail
  std::optional<Account> find_account(long long id);
  std::optional<Account> find_account_by_email(const std::string& email);  // case-insensitive
  // Makes the user an admin with this password, adding them if the email is new.
  void save_admin(const NewUser& user, const std::string& password_hash);

 private:
  common::DbPool& pool_;
};

}  // namespace users
