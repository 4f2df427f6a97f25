// SQL of pg_stat_archiver: one row, no table scan, cheap on every scrape.
#include "wal_archive_status.hpp"

#include <exception>

namespace users {

std::vector<common::PreparedStatement> WalArchiveStatus::statements() {
  return {
      {"wal_archive_status",
       "SELECT archived_count, failed_count,"
       " floor(extract(epoch FROM now() - last_archived_time))::bigint"
       " FROM pg_stat_archiver"},
  };
}

void WalArchiveStatus::append_metrics(std::string& out) {
  common::Rows rows;
  try {
    rows = database_.run(common::Statement{"wal_archive_status", {}});
  } catch (const std::exception&) {
    return;
  }
  if (rows.empty()) return;
  out += "# HELP pg_wal_archived_total WAL segments archived (pg_stat_archiver).\n";
  out += "# TYPE pg_wal_archived_total counter\n";
  out += "pg_wal_archived_total " + std::to_string(rows.integer(0, 0)) + "\n";
  out += "# HELP pg_wal_archive_failed_total Failed attempts to archive a WAL segment.\n";
  out += "# TYPE pg_wal_archive_failed_total counter\n";
  out += "pg_wal_archive_failed_total " + std::to_string(rows.integer(0, 1)) + "\n";
  // NULL until the first segment is archived (or with archiving off).
  if (!rows.is_null(0, 2)) {
    out += "# HELP pg_wal_archive_age_seconds Seconds since the last WAL segment was archived.\n";
    out += "# TYPE pg_wal_archive_age_seconds gauge\n";
    out += "pg_wal_archive_age_seconds " + std::to_string(rows.integer(0, 2)) + "\n";
  }
}

}  // namespace users
