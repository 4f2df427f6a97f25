// Query-string checking for the paged routes.
#include "paging.hpp"

#include <map>
#include <vector>

#include "common/form.hpp"

namespace users {
namespace {

// The decoded name=value pairs of a query; sets `error` on a malformed,
// empty, unknown or repeated parameter.
std::optional<std::map<std::string, std::string>> parameters(
    std::string_view query, const std::vector<std::string>& allowed, std::string& error) {
  std::map<std::string, std::string> out;
  if (query.empty()) return out;
  std::string names;
  for (const auto& name : allowed) names += (names.empty() ? "" : ", ") + name;
  while (true) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    auto name = common::url_decode(pair.substr(0, eq));
    auto value = common::url_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) {
      error = "Malformed query string.";
      return std::nullopt;
    }
    bool known = false;
    for (const auto& candidate : allowed) known = known || candidate == *name;
    if (!known) {
      error = "Unknown query parameter; the known ones are: " + names + ".";
      return std::nullopt;
    }
    if (!out.emplace(*name, *value).second) {
      error = "Query parameter " + *name + " is repeated.";
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// A decimal integer (digits only) in [min, max]; nullopt otherwise.
std::optional<long long> integer_in(const std::string& text, long long min, long long max) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  unsigned long long value = 0;  // 19 digits always fit in 64 unsigned bits
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < static_cast<unsigned long long>(min) ||
      value > static_cast<unsigned long long>(max)) {
    return std::nullopt;
  }
  return static_cast<long long>(value);
}

constexpr long long kMaxId = 9223372036854775807LL;

}  // namespace

std::optional<UsersPage> parse_users_page(std::string_view query, std::string& error) {
  auto fields = parameters(query, {"limit", "after"}, error);
  if (!fields) return std::nullopt;
  UsersPage page;
  auto limit = fields->find("limit");
  auto parsed_limit =
      limit == fields->end() ? std::nullopt : integer_in(limit->second, 1, kMaxPageLimit);
  if (!parsed_limit) {
    error = "limit must be an integer from 1 to " + std::to_string(kMaxPageLimit) + ".";
    return std::nullopt;
  }
  page.limit = static_cast<int>(*parsed_limit);
  if (auto after = fields->find("after"); after != fields->end()) {
    auto parsed_after = integer_in(after->second, 0, kMaxId);
    if (!parsed_after) {
      error = "after must be an integer id, 0 or more.";
      return std::nullopt;
    }
    page.after = *parsed_after;
  }
  return page;
}

std::optional<IndexPage> parse_index_page(std::string_view query, std::string& error) {
  auto fields = parameters(query, {"before"}, error);
  if (!fields) return std::nullopt;
  IndexPage page;
  if (auto before = fields->find("before"); before != fields->end()) {
    page.before = integer_in(before->second, 1, kMaxId);
    if (!page.before) {
      error = "before must be an integer id, 1 or more.";
      return std::nullopt;
    }
  }
  return page;
}

std::string next_page_link(int limit, long long last_id) {
  return "</users?limit=" + std::to_string(limit) + "&after=" + std::to_string(last_id) +
         ">; rel=\"next\"";
}

}  // namespace users
