#include <libpq-fe.h>

#include <charconv>
#include <string>

#include "common/pg_rows.hpp"

namespace common {

namespace {

long long parse_integer(std::string_view text) {
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw std::runtime_error("not an integer: \"" + std::string(text) + "\"");
  }
  return value;
}

// Checked here rather than by libpq: libpq reports a bad index through the
// connection's notice receiver, which may be gone by the time rows are read.
void check(const Rows& rows, int row, int column) {
  if (row < 0 || row >= rows.size() || column < 0 || column >= rows.columns()) {
    throw std::out_of_range("no cell (" + std::to_string(row) + ", " + std::to_string(column) +
                            ") in " + std::to_string(rows.size()) + " rows of " +
                            std::to_string(rows.columns()) + " columns");
  }
}

}  // namespace

Rows::Rows(pg_result* result)
    : result_(result, PQclear), rows_(PQntuples(result)), columns_(PQnfields(result)) {}

int Rows::size() const {
  return rows_;
}

int Rows::columns() const {
  return columns_;
}

bool Rows::is_null(int row, int column) const {
  check(*this, row, column);
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view Rows::text(int row, int column) const {
  check(*this, row, column);
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

long long Rows::integer(int row, int column) const {
  return parse_integer(text(row, column));
}

bool Rows::boolean(int row, int column) const {
  return text(row, column) == "t";
}

long long Rows::affected() const {
  if (!result_) return 0;
  std::string_view count = PQcmdTuples(result_.get());
  return count.empty() ? 0 : parse_integer(count);
}

}  // namespace common
