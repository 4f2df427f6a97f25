// For the tests of the real binaries (manage, users-service): one throwaway
// PostgreSQL per test binary, a way to run a command and capture its output
// and exit code, and a child process that never outlives the test.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "support/pg_cluster.hpp"

namespace binaries {

inline std::unique_ptr<support::PgCluster>& cluster() {
  static std::unique_ptr<support::PgCluster> instance;
  return instance;
}

inline std::string database_url() {
  return cluster()->url("users_test");
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    cluster() = std::make_unique<support::PgCluster>();
    cluster()->create_database("users_test");
  }
  void TearDown() override { cluster().reset(); }
};

inline pqxx::result execute(const std::string& sql) {
  pqxx::connection connection(database_url());
  pqxx::work work(connection);
  auto result = work.exec(sql);
  work.commit();
  return result;
}

struct Result {
  int exit_code = -1;  // -1 when killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell with stderr folded into stdout.
inline Result run(const std::string& command) {
  Result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, got);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A fresh schema, through the real manage's recreate_db: where each test of
// the built binaries starts.
inline Result recreate_db() {
  return run("env -i APP_ENV=testing DATABASE_TEST_URL='" + database_url() +
             "' " MANAGE_PATH " recreate_db");
}

// A child process started with exactly `env`; killed (SIGKILL) when this
// object goes away still running, and by the kernel when the test dies.
class Child {
 public:
  // `args` follow the program's name in its argv; `output_fd`, when given,
  // becomes the child's stdout and stderr.
  Child(const std::string& path, const std::vector<std::string>& env,
        const std::vector<std::string>& args = {}, int output_fd = -1) {
    std::vector<std::string> strings = env;
    std::vector<char*> envp;
    for (auto& entry : strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string program = path;
    std::vector<std::string> arg_strings = args;
    std::vector<char*> argv{program.data()};
    for (auto& arg : arg_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      if (output_fd >= 0 && (::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0)) ::_exit(125);
      ::execve(program.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool signal(int number) const { return ::kill(pid_, number) == 0; }

  // Waits up to `deadline` for the process to end; its wait status, or
  // nothing when it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline) {
    auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      int status = 0;
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        exited_ = true;
        return status;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace binaries
