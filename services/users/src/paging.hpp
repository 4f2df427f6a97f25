// Paging parameters from a request's query string, checked strictly: a
// client that misspells a name or repeats one hears about it (400) instead
// of silently getting some other page.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace users {

constexpr int kMaxPageLimit = 1000;
constexpr int kIndexPageSize = 50;

// GET /users?limit=N&after=ID: limit 1..1000 (required), after >= 0 (0 by default).
struct UsersPage {
  int limit = 0;
  long long after = 0;
};

// GET /?before=ID: before >= 1, or nullopt for the newest users.
struct IndexPage {
  std::optional<long long> before;
};

// Each parse_* sets `error` to a message for the client and returns nullopt
// when the query is not acceptable.
std::optional<UsersPage> parse_users_page(std::string_view query, std::string& error);
std::optional<IndexPage> parse_index_page(std::string_view query, std::string& error);

// The Link header value that points at the page after `last_id`.
std::string next_page_link(int limit, long long last_id);

}  // namespace users
