// Tokens revoked by a logout, kept in the database until they would have
// expired anyway, so a revocation holds on every replica and after restarts.
#pragma once

#include <string>

#include "common/db_pool.hpp"

namespace users {

class RevokedTokens {
 public:
  explicit RevokedTokens(common::DbPool& pool) : pool_(pool) {}

  static void prepare(pqxx::connection& connection);

  // Records the token id; also drops the rows whose tokens have expired.
  void revoke(const std::string& jti, long long expires_at);
  bool is_revoked(const std::string& jti);

 private:
  common::DbPool& pool_;
};

}  // namespace users
