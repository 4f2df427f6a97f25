// The real binaries: manage's commands, start-up config errors, and the
// graceful shutdown of users-service (a request in flight during SIGTERM
// still gets its answer).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "support/free_port.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace {

struct Result {
  int exit_code = -1;
  std::string output;
};

Result run(const std::string& command) {
  Result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) result.output += buffer;
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class Binaries : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new support::PgCluster();
    cluster_->create_database("users_test");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static std::string url() { return cluster_->url("users_test"); }
  static Result manage(const std::string& args) {
    return run("env -i APP_ENV=testing DATABASE_TEST_URL=" + url() + " " MANAGE_PATH " " + args);
  }
  static long long count(const std::string& sql) {
    pqxx::connection connection(url());
    pqxx::nontransaction work(connection);
    return work.exec(sql)[0][0].as<long long>();
  }
  static support::PgCluster* cluster_;
};
support::PgCluster* Binaries::cluster_ = nullptr;

TEST_F(Binaries, Manage_MigrateTwice_SecondIsUpToDate) {
  auto first = manage("recreate_db");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = manage("migrate");
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("up to date"), std::string::npos) << second.output;
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 1);
}

TEST_F(Binaries, Manage_SeedTwice_KeepsExactlyTwoSeedUsers) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  auto first = manage("seed_db");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = manage("seed_db");
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE email IN "
                  "('michael@realpython.com', 'michael@mherman.org')"),
            2);
}

TEST_F(Binaries, Manage_RecreateDb_EmptiesUsersAndKeepsSchema) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  ASSERT_EQ(manage("seed_db").exit_code, 0);
  auto result = manage("recreate_db");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(count("SELECT count(*) FROM users"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM schema_migrations"), 1);
}

TEST_F(Binaries, Manage_MissingTestUrl_Exits2WithOneLine) {
  auto result = run("env -i APP_ENV=testing " MANAGE_PATH " migrate");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("DATABASE_TEST_URL"), std::string::npos) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST_F(Binaries, Manage_UnknownCommand_FailsWithUsage) {
  auto result = manage("frobnicate");
  EXPECT_NE(result.exit_code, 0);
}

TEST_F(Binaries, Manage_UnreachableDatabase_FailsWithoutLeakingPassword) {
  int port = support::free_port();
  auto result = run("env -i APP_ENV=development DATABASE_URL=postgresql://bob:hunter2@127.0.0.1:" +
                    std::to_string(port) + "/users_dev " MANAGE_PATH " migrate");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.output.find("hunter2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("manage:"), std::string::npos) << result.output;
}

TEST_F(Binaries, Service_ProductionWithoutSecretKey_Exits2) {
  auto result = run("env -i APP_ENV=production DATABASE_URL=" + url() + " " SERVICE_PATH);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("SECRET_KEY"), std::string::npos) << result.output;
}

TEST_F(Binaries, Service_MalformedPort_Exits2) {
  auto result =
      run("env -i APP_ENV=testing PORT=http DATABASE_TEST_URL=" + url() + " " SERVICE_PATH);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.output.find("PORT"), std::string::npos) << result.output;
}

TEST_F(Binaries, Service_SigtermDuringRequest_AnswersItThenExitsZero) {
  ASSERT_EQ(manage("recreate_db").exit_code, 0);
  int port = support::free_port();
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string database = "DATABASE_TEST_URL=" + url();
    std::string port_var = "PORT=" + std::to_string(port);
    char* const env[] = {const_cast<char*>("APP_ENV=testing"),
                         database.data(),
                         port_var.data(),
                         const_cast<char*>("HOST=127.0.0.1"),
                         const_cast<char*>("LOG_LEVEL=warn"),
                         nullptr};
    char* const argv[] = {const_cast<char*>(SERVICE_PATH), nullptr};
    ::execve(SERVICE_PATH, argv, env);
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline) {
    try {
      up = support::http_request(port, "GET", "/ping").status == 200;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ASSERT_TRUE(up);

  // Hold a lock so GET /users blocks inside the database.
  pqxx::connection locker(url());
  pqxx::work lock(locker);
  lock.exec("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  auto in_flight = std::async(std::launch::async,
                              [port] { return support::http_request(port, "GET", "/users"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  lock.abort();

  auto response = in_flight.get();
  EXPECT_EQ(response.status, 200) << response.body;
  int status = 0;
  auto exit_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < exit_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) ::kill(pid, SIGKILL);
  ASSERT_EQ(done, pid) << "the service did not exit within 10 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
