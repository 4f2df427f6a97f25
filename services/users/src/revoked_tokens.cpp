// SQL of the revoked_tokens table.
#include "revoked_tokens.hpp"

namespace users {

void RevokedTokens::prepare(pqxx::connection& connection) {
  connection.prepare("revoked_tokens_insert",
                     "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, to_timestamp($2)) "
                     "ON CONFLICT (jti) DO NOTHING");
  connection.prepare("revoked_tokens_prune", "DELETE FROM revoked_tokens WHERE expires_at < now()");
  connection.prepare("revoked_tokens_find", "SELECT 1 FROM revoked_tokens WHERE jti = $1");
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
  return pool_.run([&](pqxx::connection& connection) {
    pqxx::nontransaction work(connection);
    return !work.exec_prepared("revoked_tokens_find", jti).empty();
  });
}

}  // namespace users
