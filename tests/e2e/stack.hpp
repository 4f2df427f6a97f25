// The production-like stack for end-to-end tests: a real PostgreSQL, the
// built users-service binary (APP_ENV=production; one replica or more, each
// with `extra_env`) and a real nginx with the project's prod template in front
// of them all, on loopback, all stopped by PID.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "support/pg_cluster.hpp"

namespace e2e {

class Stack {
 public:
  // With an `smtp_url` mail is on: the service sends through it, and its
  // links point at nginx (PUBLIC_BASE_URL). Empty: mail off. `replicas`
  // services run behind nginx, each with `extra_env` too.
  explicit Stack(std::string smtp_url = "", int replicas = 1,
                 std::vector<std::string> extra_env = {});
  ~Stack();

  int nginx_port() const { return nginx_port_; }
  std::string nginx_access_log() const { return dir_ + "/nginx/access.log"; }
  int service_port() const { return service_port_; }
  // Replica i's own port (0 is service_port()).
  int replica_port(std::size_t i) const { return i == 0 ? service_port_ : more_ports_.at(i - 1); }
  const std::string& service_log() const { return service_log_; }
  const std::string& database_url() const { return database_url_; }
  std::string nginx_error_log() const { return dir_ + "/nginx/error.log"; }

  void start_service();
  void stop_service();  // SIGTERM, wait for exit; returns when it is gone
                        // (start_service and stop_service: the first replica only.)

 private:
  pid_t spawn(int port) const;  // a replica on `port`, once it is ready

  std::unique_ptr<support::PgCluster> cluster_;
  std::string dir_;
  std::string database_url_;
  std::string service_log_;
  std::string smtp_url_;
  int service_port_ = 0;
  int nginx_port_ = 0;
  pid_t service_pid_ = -1;
  std::vector<std::string> extra_env_;
  std::vector<int> more_ports_;  // replicas beyond the first
  std::vector<pid_t> more_pids_;
};

}  // namespace e2e
