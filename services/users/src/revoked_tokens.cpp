// SQL of the revoked_tokens table.
#include "revoked_tokens.hpp"

#include "pg_arrays.hpp"

namespace users {
namespace {

constexpr std::size_t kMaxBatch = 64;  // token ids per statement, as for user ids

}  // namespace

RevokedTokens::RevokedTokens(common::Database& database)
    : database_(database),
      checker_([this](const std::vector<std::string>& jtis) { return revoked_many(jtis); },
               database.connections_per_loop(), kMaxBatch) {}

std::vector<common::PreparedStatement> RevokedTokens::statements() {
  return {
      {"revoked_tokens_insert",
       "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2::bigint)) "
       "ON CONFLICT (jti) DO NOTHING"},
      {"revoked_tokens_prune", "DELETE FROM revoked_tokens WHERE expires_at < now()"},
      {"revoked_tokens_find", "SELECT 1 FROM revoked_tokens WHERE jti = $1"},
      {"revoked_tokens_find_many", "SELECT jti FROM revoked_tokens WHERE jti = ANY($1::text[])"},
  };
}

void RevokedTokens::revoke(const std::string& jti, long long expires_at) {
  // Both in one transaction.
  database_.run(
      {{"revoked_tokens_insert", {jti, std::to_string(expires_at)}}, {"revoked_tokens_prune", {}}});
}

bool RevokedTokens::is_revoked(const std::string& jti) {
  return checker_.submit(jti);
}

std::vector<bool> RevokedTokens::revoked_many(const std::vector<std::string>& jtis) {
  std::vector<bool> revoked(jtis.size(), false);
  if (jtis.size() == 1) {  // the lone caller: the single-row statement
    revoked[0] = !database_.run({"revoked_tokens_find", {jtis[0]}}).empty();
    return revoked;
  }
  auto rows = database_.run({"revoked_tokens_find_many", {text_array(jtis)}});
  for (int row = 0; row < rows.size(); ++row) {
    auto jti = rows.text(row, 0);
    for (std::size_t i = 0; i < jtis.size(); ++i) {
      if (jtis[i] == jti) revoked[i] = true;
    }
  }
  return revoked;
}

}  // namespace users
