// Tokens revoked by a logout, kept in the database until they would have
// expired anyway, so a revocation holds on every replica and after restarts.
#pragma once

#include <string>
#include <vector>

#include "common/batcher.hpp"
#include "common/database.hpp"

namespace users {

class RevokedTokens {
 public:
  explicit RevokedTokens(common::Database& database);

  static std::vector<common::PreparedStatement> statements();

  // Records the token id; also drops the rows whose tokens have expired.
  void revoke(const std::string& jti, long long expires_at);
  // Batched: the checks of one loop iteration share one statement (see
  // common/batcher.hpp).
  bool is_revoked(const std::string& jti);
  // One statement for many token ids, in their order.
  std::vector<bool> revoked_many(const std::vector<std::string>& jtis);

 private:
  common::Database& database_;
  common::Batcher<std::string, bool> checker_;
};

}  // namespace users
