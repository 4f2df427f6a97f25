#include "support/pg_cluster.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>

#include "support/free_port.hpp"

namespace support {
namespace {

std::mutex registry_mutex;
std::set<std::string>& running_dirs() {
  static std::set<std::string> dirs;
  return dirs;
}

// Kills the postmaster of every cluster still registered: used at exit and
// on fatal signals, so an aborted test never leaves a server behind.
void kill_registered() {
  for (const auto& dir : running_dirs()) {
    std::ifstream pid_file(dir + "/data/postmaster.pid");
    long pid = 0;
    if (pid_file >> pid && pid > 0) ::kill(static_cast<pid_t>(pid), SIGQUIT);
  }
}

void on_fatal_signal(int signal) {
  kill_registered();
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void install_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(kill_registered);
    for (int signal : {SIGTERM, SIGINT, SIGABRT, SIGSEGV}) ::signal(signal, on_fatal_signal);
  });
}

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

}  // namespace

std::string project_root() {
  return USERS_PROJECT_ROOT;
}

PgCluster::PgCluster() : port_(free_port()) {
  char pattern[] = "/tmp/users-pg-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  install_cleanup();
  start();
}

PgCluster::~PgCluster() {
  try {
    stop();
  } catch (...) {
  }
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

std::string PgCluster::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PgCluster::create_database(const std::string& name) const {
  run(project_root() + "/scripts/pg.sh createdb '" + dir_ + "' " + std::to_string(port_) + " " +
      name);
}

void PgCluster::start() {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    running_dirs().insert(dir_);
  }
  run(project_root() + "/scripts/pg.sh start '" + dir_ + "' " + std::to_string(port_) +
      " >/dev/null");
}

void PgCluster::stop() {
  run(project_root() + "/scripts/pg.sh stop '" + dir_ + "'");
  std::lock_guard<std::mutex> lock(registry_mutex);
  running_dirs().erase(dir_);
}

}  // namespace support
