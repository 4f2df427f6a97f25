// How the database's WAL archiving is doing (pg_stat_archiver), read when
// /metrics is scraped: an alert can fire when segments stop reaching the
// backup repository, or when the archive command fails.
#pragma once

#include <string>
#include <vector>

#include "common/database.hpp"

namespace users {

class WalArchiveStatus {
 public:
  explicit WalArchiveStatus(common::Database& database) : database_(database) {}

  static std::vector<common::PreparedStatement> statements();

  // Appends pg_wal_archived_total, pg_wal_archive_failed_total and, once a
  // segment has been archived, pg_wal_archive_age_seconds. Appends nothing
  // when the database does not answer: the pool's metrics say so already.
  void append_metrics(std::string& out);

 private:
  common::Database& database_;
};

}  // namespace users
