// The rows one SQL statement returned, in PostgreSQL's text format, read in
// place (no copy of the result). Cheap to copy: the result is shared. Also
// the statement a batch is made of, and the two errors a batch can end in.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_result;  // libpq's PGresult

namespace common {

class Rows {
 public:
  Rows() = default;
  // Takes ownership of a libpq result (PQclear when the last copy goes).
  explicit Rows(pg_result* result);

  int size() const;  // rows; 0 for a statement that returns none
  int columns() const;
  bool empty() const { return size() == 0; }

  bool is_null(int row, int column) const;
  // "" for NULL.
  std::string_view text(int row, int column) const;
  long long integer(int row, int column) const;  // throws std::runtime_error if not one
  bool boolean(int row, int column) const;       // 't' / 'f'
  // Rows affected by an INSERT/UPDATE/DELETE.
  long long affected() const;

 private:
  std::shared_ptr<pg_result> result_;
  int rows_ = 0;  // read once: every cell access checks its indexes
  int columns_ = 0;
};

// One statement of a batch: a prepared statement's name and its parameters
// in text form (nullopt is SQL NULL).
struct Statement {
  std::string name;
  std::vector<std::optional<std::string>> params;
};

// A statement PostgreSQL refused (a constraint, bad input): its SQLSTATE,
// e.g. "23505" for a unique violation. The message is for logs only.
class SqlError : public std::runtime_error {
 public:
  SqlError(std::string sqlstate, const std::string& message)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// The database cannot serve now: down, saturated, no answer in time, the
// connection lost during the call, or a transaction whose COMMIT is
// unconfirmed. Not an HTTP error: the HTTP boundary (the dispatcher) answers
// it with 503 and Retry-After; other callers decide for themselves.
class DatabaseUnavailable : public std::runtime_error {
 public:
  explicit DatabaseUnavailable(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace common
