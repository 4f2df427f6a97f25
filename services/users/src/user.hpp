// The User model and its JSON shape.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/pg_rows.hpp"

namespace users {

struct User {
  long long id = 0;
  std::string username;
  std::string email;
  bool active = false;
  std::string created_at;       // ISO 8601 UTC, e.g. 2026-11-22T21:37:45Z
  long long version = 0;        // row_version: bumped on every change (the ETag); not in the JSON
  bool email_verified = false;  // only in an admin's view (append_admin_json)
};

// The opaque part of a user's strong ETag: "<id>-<row_version>" (the id too,
// so that a tag of one user never matches another's). The admin's view has a
// body of its own (email_verified), so a tag of its own: "<id>-<row_version>-a"
// (RFC 9110 8.8.3: two representations never share a strong tag, or a
// revalidation could answer one with the other's 304).
std::string etag_opaque(const User& user, bool admin_view = false);

// {"id","username","email","active","created_at"}
void to_json(nlohmann::json& json, const User& user);
// The same plus "email_verified": the user as an admin sees them.
void append_admin_json(std::string& out, const User& user);

// The same object appended as text, byte for byte what
// nlohmann::json(user).dump() gives (a unit test holds them together), without
// building a DOM: this is the hot path of GET /users and GET /users/{id}.
void append_json(std::string& out, const User& user);

// Users as the database returned them (id, username, email, active,
// created_at, row_version, email_verified, in that order of columns), read in place: a page is
// written straight from its rows, and callers sharing a page share the rows.
class UserRows {
 public:
  UserRows() = default;
  UserRows(common::Rows rows, int begin, int end)
      : rows_(std::move(rows)), begin_(begin), end_(end) {}

  int size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  long long id(int i) const { return rows_.integer(begin_ + i, 0); }
  std::string_view username(int i) const { return rows_.text(begin_ + i, 1); }
  std::string_view email(int i) const { return rows_.text(begin_ + i, 2); }
  bool active(int i) const { return rows_.boolean(begin_ + i, 3); }
  std::string_view created_at(int i) const { return rows_.text(begin_ + i, 4); }
  bool email_verified(int i) const { return rows_.boolean(begin_ + i, 6); }
  User user(int i) const;
  // The first `count` of them.
  UserRows head(int count) const { return {rows_, begin_, begin_ + std::min(count, size())}; }

 private:
  common::Rows rows_;
  int begin_ = 0;
  int end_ = 0;
};

// The same JSON object as append_json(out, rows.user(i)), from the row.
void append_json(std::string& out, const UserRows& rows, int i);
// The same as append_admin_json(out, rows.user(i)), from the row.
void append_admin_json(std::string& out, const UserRows& rows, int i);

}  // namespace users
