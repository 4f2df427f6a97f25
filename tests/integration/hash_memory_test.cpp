// The real users-service in a memory-limited cgroup (what podman --memory
// makes): its default PASSWORD_HASH_CONCURRENCY comes from that limit, and 50
// registrations at once at the production cost (64 MiB a hash) never take it
// to the limit -- the surplus waits, then gets 503, instead of the kernel
// killing the service. Needs a writable memory cgroup (root, cgroup v1 or
// v2); where there is none the test says so and is skipped, and the
// computation stays covered by the CgroupFiles unit tests.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "binaries_fixture.hpp"
#include "common/cgroup.hpp"
#include "support/free_port.hpp"
#include "support/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr long long kLimit = 256LL << 20;

std::string slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  file.flush();
  return static_cast<bool>(file);
}

// A fresh memory cgroup with kLimit; removed when it goes.
class MemoryCgroup {
 public:
  MemoryCgroup() {
    std::string name = "/users-hash-test-" + std::to_string(::getpid());
    if (::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0) {  // v1
      dir_ = "/sys/fs/cgroup/memory" + name;
      limit_file_ = "memory.limit_in_bytes";
      peak_file_ = "memory.max_usage_in_bytes";
    } else if (slurp("/sys/fs/cgroup/cgroup.subtree_control").find("memory") !=
               std::string::npos) {  // v2, memory delegated to children
      dir_ = "/sys/fs/cgroup" + name;
      limit_file_ = "memory.max";
      peak_file_ = "memory.peak";
    } else {
      return;
    }
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      dir_.clear();
      return;
    }
    if (!write_file(dir_ + "/" + limit_file_, std::to_string(kLimit))) {
      ::rmdir(dir_.c_str());
      dir_.clear();
    }
  }
  ~MemoryCgroup() {
    if (dir_.empty()) return;
    for (int i = 0; i < 100 && ::rmdir(dir_.c_str()) != 0; ++i) std::this_thread::sleep_for(20ms);
  }
  bool usable() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  // The highest usage seen; -1 when the kernel does not keep it.
  long long peak() const {
    std::string text = slurp(dir_ + "/" + peak_file_);
    return text.empty() ? -1 : std::stoll(text);
  }
  // OOM kills inside the cgroup (v1 memory.oom_control, v2 memory.events).
  long long oom_kills() const {
    std::istringstream in(
        slurp(dir_ + (peak_file_ == "memory.peak" ? "/memory.events" : "/memory.oom_control")));
    std::string key;
    long long value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill") return value;
    }
    return 0;
  }

 private:
  std::string dir_;
  std::string limit_file_;
  std::string peak_file_;
};

TEST(PasswordHashMemory, FiftyParallelRegistrationsUnderAMemoryLimit_NeverReachIt) {
  MemoryCgroup cgroup;
  if (!cgroup.usable()) {
    GTEST_SKIP() << "no writable memory cgroup here (needs root); the default's computation is "
                    "covered by the CgroupFiles unit tests";
  }
  auto migrated = binaries::run("env -i APP_ENV=testing DATABASE_TEST_URL='" +
                                binaries::database_url() + "' " MANAGE_PATH " migrate");
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;

  // Production by default (APP_ENV unset): the interactive cost, 64 MiB a hash.
  int port = support::free_port();
  std::string log = "/tmp/users-hash-test-" + std::to_string(::getpid()) + ".log";
  binaries::Child service(
      "/bin/sh",
      {"SECRET_KEY=hash-memory-test-key-0123456789abcdef",
       "DATABASE_URL=" + binaries::database_url(), "HOST=127.0.0.1", "PORT=" + std::to_string(port),
       "THREADS=2", "LOG_LEVEL=info"},
      {"-c", "echo $$ > " + cgroup.dir() + "/cgroup.procs && exec " USERS_SERVICE_PATH " > " + log +
                 " 2>&1"});
  bool up = false;
  for (auto until = Clock::now() + 15s; !up && Clock::now() < until;) {
    try {
      up = support::http_request(port, "GET", "/health/ready").status == 200;
    } catch (const std::exception&) {
    }
    if (!up) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(up) << slurp(log);
  // Half of 256 MiB is two 64 MiB hashes; fewer if fewer CPUs.
  int expected = std::min(2, common::usable_cpus());
  EXPECT_NE(slurp(log).find("password hashes: at most " + std::to_string(expected) + " at once"),
            std::string::npos)
      << slurp(log);

  constexpr int kBurst = 50;
  std::vector<int> statuses(kBurst, 0);
  std::vector<std::string> retry_after(kBurst);
  std::vector<std::thread> threads;
  for (int i = 0; i < kBurst; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto response = support::http_request(
            port, "POST", "/auth/register",
            nlohmann::json{{"username", "burst"},
                           {"email", "burst" + std::to_string(i) + "@example.com"},
                           {"password", "correct horse battery"}}
                .dump(),
            {{"Content-Type", "application/json"}});
        statuses[i] = response.status;
        retry_after[i] = response.header("Retry-After");
      } catch (const std::exception&) {
        statuses[i] = -1;  // no answer: the service died
      }
    });
  }
  for (auto& thread : threads) thread.join();

  int created = 0;
  for (int i = 0; i < kBurst; ++i) {
    if (statuses[i] == 201) {
      ++created;
    } else {
      EXPECT_EQ(statuses[i], 503) << "registration " << i;
      EXPECT_EQ(retry_after[i], "1") << "registration " << i;
    }
  }
  EXPECT_GE(created, 1);
  EXPECT_EQ(support::http_request(port, "GET", "/health/live").status, 200);
  EXPECT_FALSE(service.wait_exit(0ms)) << "the service exited: " << slurp(log);
  EXPECT_EQ(cgroup.oom_kills(), 0);
  long long peak = cgroup.peak();
  if (peak >= 0) {
    EXPECT_LT(peak, kLimit) << "the service's memory reached the cgroup's limit";
    std::cout << "peak memory " << (peak >> 20) << " MiB of " << (kLimit >> 20) << " MiB, "
              << created << " of " << kBurst << " registered\n";
  }
  ::unlink(log.c_str());
}

}  // namespace
