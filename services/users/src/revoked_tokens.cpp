// SQL of the revoked_tokens table.
#include "revoked_tokens.hpp"

#include "pg_arrays.hpp"

namespace users {
namespace {

constexpr std::size_t kMaxBatch = 64;  // token ids per statement, as for user ids

}  // namespace

RevokedTokens::RevokedTokens(common::DbPool& pool)
    : pool_(pool),
      checker_([this](const std::vector<std::string>& jtis) { return revoked_many(jtis); },
               pool.stats().size, kMaxBatch) {}

void RevokedTokens::prepare(pqxx::connection& connection) {
  connection.prepare("revoked_tokens_insert",
                     "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2)) "
                     "ON CONFLICT (jti) DO NOTHING");
  connection.prepare("revoked_tokens_prune", "DELETE FROM revoked_tokens WHERE expires_at < now()");
  connection.prepare("revoked_tokens_find", "SELECT 1 FROM revoked_tokens WHERE jti = $1");
  connection.prepare("revoked_tokens_find_many",
                     "SELECT jti FROM revoked_tokens WHERE jti = ANY($1::text[])");
}

void RevokedTokens::revoke(const std::string& jti, long long expires_at) {
  pool_.run([&](pqxx::connection& connection) {
    pqxx::work work(connection);
    work.exec_prepared("revoked_tokens_insert", jti, expires_at);
    work.exec_prepared("revoked_tokens_prune");
    work.commit();
  });
}

bool RevokedTokens::is_revoked(const std::string& jti) {
  return checker_.submit(jti);
}

std::vector<bool> RevokedTokens::revoked_many(const std::vector<std::string>& jtis) {
  return pool_.run([&](pqxx::connection& connection) {
    std::vector<bool> revoked(jtis.size(), false);
    pqxx::nontransaction work(connection);
    if (jtis.size() == 1) {  // the lone caller: the single-row statement
      revoked[0] = !work.exec_prepared("revoked_tokens_find", jtis[0]).empty();
      return revoked;
    }
    for (const auto& row : work.exec_prepared("revoked_tokens_find_many", text_array(jtis))) {
      auto jti = row[0].as<std::string>();
      for (std::size_t i = 0; i < jtis.size(); ++i) {
        if (jtis[i] == jti) revoked[i] = true;
      }
    }
    return revoked;
  });
}

}  // namespace users
