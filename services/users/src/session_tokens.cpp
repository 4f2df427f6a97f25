// Minting, rotating and replaying the pairs of a session (the rules in the header).
#include "session_tokens.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include "refresh_token.hpp"

namespace users {
namespace {

const char* const kInvalid = "Invalid token. Please log in again.";

constexpr std::size_t kMaxUserAgent = 256;

// What the grace window gives back: the pair and when its access token ends.
std::string successor_plain(const TokenPair& pair, long long expires_at) {
  return nlohmann::json{
      {"auth_token", pair.auth_token}, {"refresh_token", pair.refresh_token}, {"exp", expires_at}}
      .dump();
}

std::optional<TokenPair> replayed(const std::string& retired_token, const std::string& sealed) {
  auto plain = open_successor(retired_token, sealed);
  if (!plain) return std::nullopt;
  auto json = nlohmann::json::parse(*plain, nullptr, false);
  if (!json.is_object()) return std::nullopt;
  TokenPair pair;
  pair.auth_token = json.value("auth_token", "");
  pair.refresh_token = json.value("refresh_token", "");
  long long left = json.value("exp", 0LL) - static_cast<long long>(std::time(nullptr));
  pair.expires_in = left > 0 ? left : 0;
  return pair;
}

}  // namespace

SessionOrigin session_origin(const common::Request& request, const std::string& client_address) {
  SessionOrigin origin;
  for (char c : request.user_agent.substr(0, kMaxUserAgent)) {
    origin.user_agent += (c >= 0x20 && c <= 0x7e) ? c : '?';
  }
  origin.client_address = client_address;
  return origin;
}

TokenPair SessionTokens::open(long long user_id, long long token_version,
                              const SessionOrigin& origin) {
  std::string refresh = new_refresh_token();
  long long session_id = sessions_.open(user_id, origin, *refresh_token_hash(refresh));
  return pair(user_id, token_version, session_id, std::move(refresh));
}

TokenPair SessionTokens::pair(long long user_id, long long token_version, long long session_id,
                              std::string refresh_token) const {
  auto issued = tokens_.issue(user_id, token_version, session_id, std::time(nullptr));
  return TokenPair{std::move(issued.token), std::move(refresh_token),
                   issued.claims.expires_at - issued.claims.issued_at};
}

TokenPair SessionTokens::refresh(const std::string& refresh_token) {
  auto hash = refresh_token_hash(refresh_token);
  if (!hash) throw common::HttpError(401, kInvalid);
  // A second look only when a concurrent rotation of the same token won the
  // race: the token is then retired, and the grace window decides.
  for (int look = 0; look < 2; ++look) {
    auto record = sessions_.find_refresh(*hash);
    if (!record || !record->session_open) throw common::HttpError(401, kInvalid);
    if (record->retired) {
      if (record->within_grace && record->successor) {
        if (auto again = replayed(refresh_token, *record->successor)) return *again;
      }
      // Reuse: whoever else holds this token, the session is theirs no more.
      sessions_.end_session(record->session_id);
      throw common::HttpError(401, kInvalid);
    }
    if (!record->live) throw common::HttpError(401, kInvalid);
    if (!record->user_active) throw common::HttpError(401, "Account disabled.");
    auto issued = tokens_.issue(record->user_id, record->token_version, record->session_id,
                                std::time(nullptr));
    TokenPair next{issued.token, new_refresh_token(),
                   issued.claims.expires_at - issued.claims.issued_at};
    if (sessions_.rotate(
            *hash, *refresh_token_hash(next.refresh_token),
            seal_successor(refresh_token, successor_plain(next, issued.claims.expires_at)))) {
      return next;
    }
  }
  throw common::HttpError(401, kInvalid);
}

}  // namespace users
