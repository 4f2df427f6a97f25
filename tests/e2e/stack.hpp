// The production-like stack for end-to-end tests: a real PostgreSQL, the
// built users-service binary (APP_ENV=production) and a real nginx with the
// project's prod template, all on loopback, all stopped by PID.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "support/pg_cluster.hpp"

namespace e2e {

class Stack {
 public:
  // With an `smtp_url` mail is on: the service sends through it, and its
  // links point at nginx (PUBLIC_BASE_URL). Empty: mail off.
  explicit Stack(std::string smtp_url = "");
  ~Stack();

  int nginx_port() const { return nginx_port_; }
  std::string nginx_access_log() const { return dir_ + "/nginx/access.log"; }
  int service_port() const { return service_port_; }
  const std::string& service_log() const { return service_log_; }
  const std::string& database_url() const { return database_url_; }
  std::string nginx_error_log() const { return dir_ + "/nginx/error.log"; }

  void start_service();
  void stop_service();  // SIGTERM, wait for exit; returns when it is gone

 private:
  std::unique_ptr<support::PgCluster> cluster_;
  std::string dir_;
  std::string database_url_;
  std::string service_log_;
  std::string smtp_url_;
  int service_port_ = 0;
  int nginx_port_ = 0;
  pid_t service_pid_ = -1;
};

}  // namespace e2e
