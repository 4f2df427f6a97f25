#include "stack.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace e2e {
namespace {

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

void wait_until_answers(int port, const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (support::http_request(port, "GET", path).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("nothing answers on port " + std::to_string(port) + path);
}

}  // namespace

Stack::Stack(std::string smtp_url, int replicas, std::vector<std::string> extra_env)
    : cluster_(std::make_unique<support::PgCluster>()),
      smtp_url_(std::move(smtp_url)),
      extra_env_(std::move(extra_env)) {
  char pattern[] = "/tmp/users-e2e-XXXXXX";
  if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  cluster_->create_database("users_prod");
  database_url_ = cluster_->url("users_prod");
  run("env -i APP_ENV=production SECRET_KEY=e2e-signing-key-0123456789abcdef01 DATABASE_URL=" +
      database_url_ + " " MANAGE_PATH " migrate >/dev/null");
  service_port_ = support::free_port();
  service_log_ = dir_ + "/service.log";
  nginx_port_ = support::free_port();  // before the service: its mail links name it
  start_service();
  std::string upstreams = " 127.0.0.1:" + std::to_string(service_port_);
  for (int i = 1; i < replicas; ++i) {
    more_ports_.push_back(support::free_port());
    more_pids_.push_back(spawn(more_ports_.back()));
    upstreams += " 127.0.0.1:" + std::to_string(more_ports_.back());
  }
  const std::string root = support::project_root();
  run(root + "/scripts/render-nginx.sh prod " + dir_ + "/nginx " + std::to_string(nginx_port_) +
      upstreams);
  run(root + "/scripts/nginx.sh start " + dir_ + "/nginx");
  wait_until_answers(nginx_port_, "/ping");
}

Stack::~Stack() {
  std::system((support::project_root() + "/scripts/nginx.sh stop " + dir_ + "/nginx").c_str());
  try {
    stop_service();
  } catch (...) {
  }
  for (pid_t pid : more_pids_) {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  cluster_.reset();
  std::system(("rm -rf '" + dir_ + "'").c_str());
}

void Stack::start_service() {
  service_pid_ = spawn(service_port_);
}

pid_t Stack::spawn(int port_number) const {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string database = "DATABASE_URL=" + database_url_;
    std::string port = "PORT=" + std::to_string(port_number);
    std::string smtp = "SMTP_URL=" + smtp_url_;
    std::string base = "PUBLIC_BASE_URL=http://127.0.0.1:" + std::to_string(nginx_port_);
    std::vector<char*> env = {const_cast<char*>("APP_ENV=production"),
                              const_cast<char*>("SECRET_KEY=e2e-signing-key-0123456789abcdef01"),
                              database.data(),
                              port.data(),
                              const_cast<char*>("HOST=127.0.0.1"),
                              const_cast<char*>("THREADS=2"),
                              const_cast<char*>("LOG_LEVEL=info")};
    if (!smtp_url_.empty()) {
      env.insert(env.end(),
                 {smtp.data(), base.data(), const_cast<char*>("MAIL_FROM=users@e2e.test")});
    }
    std::vector<std::string> extra = extra_env_;
    for (auto& variable : extra) env.push_back(variable.data());
    env.push_back(nullptr);
    FILE* log = std::fopen(service_log_.c_str(), "a");
    if (log) {
      ::dup2(fileno(log), STDOUT_FILENO);
      ::dup2(fileno(log), STDERR_FILENO);
    }
    char* const argv[] = {const_cast<char*>(SERVICE_PATH), nullptr};
    ::execve(SERVICE_PATH, argv, env.data());
    ::_exit(127);
  }
  wait_until_answers(port_number, "/health/ready");
  return pid;
}

void Stack::stop_service() {
  if (service_pid_ <= 0) return;
  ::kill(service_pid_, SIGTERM);
  int status = 0;
  ::waitpid(service_pid_, &status, 0);
  service_pid_ = -1;
}

}  // namespace e2e
