// A throwaway PostgreSQL for a test process: scripts/pg.sh in a temp dir on a
// free port. Stopped by the destructor, and at process exit even when a test
// aborts, so no test leaves a server running.
#pragma once

#include <string>

namespace support {

class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& database) const;
  void create_database(const std::string& name) const;
  void stop();
  void start();  // again, same port and data

 private:
  std::string dir_;
  int port_ = 0;
};

// The repository root (for scripts/ and the built binaries).
std::string project_root();

}  // namespace support
