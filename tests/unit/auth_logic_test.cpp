// The pure parts of authentication: the password policy and hashing, the auth
// payloads, the Bearer header, the login limiter's keys, the default number of
// hashes at once (from cgroup files) and the trusted-proxy rule.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>

#include "auth_payloads.hpp"
#include "authenticator.hpp"
#include "common/cgroup.hpp"
#include "common/client_address.hpp"
#include "login_limiter.hpp"
#include "passwords.hpp"

namespace {

using namespace std::chrono_literals;

TEST(PasswordPolicy, LengthBetween8And128Characters) {
  EXPECT_FALSE(users::is_acceptable_password(""));
  EXPECT_FALSE(users::is_acceptable_password("1234567"));
  EXPECT_TRUE(users::is_acceptable_password("12345678"));
  EXPECT_TRUE(users::is_acceptable_password(std::string(128, 'x')));
  EXPECT_FALSE(users::is_acceptable_password(std::string(129, 'x')));
  // Characters, not bytes: 8 two-byte letters pass, 129 of them do not.
  std::string e_acute = "\xc3\xa9";
  std::string eight, many;
  for (int i = 0; i < 8; ++i) eight += e_acute;
  for (int i = 0; i < 129; ++i) many += e_acute;
  EXPECT_TRUE(users::is_acceptable_password(eight));
  EXPECT_FALSE(users::is_acceptable_password(many));
}

TEST(PasswordPolicy, OnlySpacesOrInvalidUtf8_AreRefused) {
  EXPECT_FALSE(users::is_acceptable_password("          "));
  EXPECT_TRUE(users::is_acceptable_password("   x      "));
  EXPECT_FALSE(users::is_acceptable_password("12345678\xff"));
  EXPECT_FALSE(
      users::is_acceptable_password(std::string("1234\0"
                                                "5678",
                                                9)));
}

TEST(PasswordHasher, HashVerifies_WrongPasswordDoesNot) {
  users::PasswordHasher hasher("min");
  auto hash = hasher.hash("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("correct horse"), std::string::npos);
  EXPECT_TRUE(hasher.verify(hash, "correct horse"));
  EXPECT_FALSE(hasher.verify(hash, "correct horsE"));
  EXPECT_FALSE(hasher.verify("not a hash", "correct horse"));
  EXPECT_NE(hasher.hash("correct horse"), hash);  // salted
}

TEST(PasswordHasher, UnknownCost_IsRefused) {
  EXPECT_THROW(users::PasswordHasher("max"), std::invalid_argument);
}

TEST(AuthPayloads, Registration_ValidatesLikePostUsersPlusPassword) {
  auto ok = users::parse_registration_json(
      R"({"username":" michael ","email":"michael@realpython.com","password":"greaterthaneight"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->user.username, "michael");
  EXPECT_EQ(ok->password, "greaterthaneight");
  for (const char* body : {
           R"({})",
           R"([])",
           R"({"username":"m","email":"m@x.io"})",
           R"({"username":"m","email":"m@x.io","password":"short"})",
           R"({"username":"m","email":"m@x.io","password":12345678})",
           R"({"username":"m","email":"not-an-email","password":"greaterthaneight"})",
           R"({"username":"","email":"m@x.io","password":"greaterthaneight"})",
           R"({"email":"m@x.io","password":"greaterthaneight"})",
           R"({"username":"m","email":"m@x.io","password":"          "})",
           "not json",
       }) {
    EXPECT_FALSE(users::parse_registration_json(body)) << body;
  }
}

TEST(AuthPayloads, Login_NeedsStringEmailAndPassword) {
  auto ok = users::parse_login_json(R"({"email":" m@x.io ","password":"pw"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->email, "m@x.io");
  EXPECT_EQ(ok->password, "pw");
  for (const char* body : {R"({})", R"({"email":"m@x.io"})", R"({"password":"12345678"})",
                           R"({"email":"","password":"12345678"})",
                           R"({"email":1,"password":"12345678"})", R"("x")", "{"}) {
    EXPECT_FALSE(users::parse_login_json(body)) << body;
  }
  std::string huge = R"({"email":"m@x.io","password":")" + std::string(600, 'x') + "\"}";
  EXPECT_FALSE(users::parse_login_json(huge));
}

TEST(BearerToken, OnlyTheBearerScheme) {
  EXPECT_EQ(users::bearer_token("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(users::bearer_token("bearer   abc "), "abc");
  EXPECT_EQ(users::bearer_token(""), "");
  EXPECT_EQ(users::bearer_token("Bearer"), "");
  EXPECT_EQ(users::bearer_token("Bearer "), "");
  EXPECT_EQ(users::bearer_token("Basic dXNlcjpwYXNz"), "");
  EXPECT_EQ(users::bearer_token("abc.def.ghi"), "");
}

// The counting itself is SQL (tests/integration/auth_api_test.cpp), and so
// is an email's key (the database's lower()); these are the address keys.
TEST(LoginLimiter, AnIpv6ClientIsCountedByItsSlash64) {
  using users::LoginLimiter;
  EXPECT_EQ(LoginLimiter::address_key("2001:db8:1:2:3:4:5:6"), "address:2001:db8:1:2::/64");
  EXPECT_EQ(LoginLimiter::address_key("2001:db8:1:2:ffff::1"), "address:2001:db8:1:2::/64");
  EXPECT_EQ(LoginLimiter::address_key("2001:DB8:1:2::9"), "address:2001:db8:1:2::/64");
  EXPECT_EQ(LoginLimiter::address_key("2001:db8:1:3::1"), "address:2001:db8:1:3::/64");
  EXPECT_EQ(LoginLimiter::address_key("::1"), "address:::/64");
  // IPv4, also written as an IPv4-mapped IPv6 address, is one address.
  EXPECT_EQ(LoginLimiter::address_key("192.0.2.7"), "address:192.0.2.7");
  EXPECT_EQ(LoginLimiter::address_key("::ffff:192.0.2.7"), "address:192.0.2.7");
  EXPECT_EQ(LoginLimiter::address_key("unix"), "address:unix");
}

// --- how many hashes at once -------------------------------------------------------------

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(HashConcurrency, HalfTheMemoryAtTheCostsMemoryPerHash) {
  std::size_t interactive = users::PasswordHasher::memory_per_hash("interactive");
  EXPECT_EQ(interactive, 64 * kMiB);
  // 512 MiB: half is 256, four 64 MiB hashes; the CPUs allow more.
  EXPECT_EQ(users::hash_concurrency_for(512 * kMiB, 8.0, interactive), 4);
  EXPECT_EQ(users::hash_concurrency_for(512 * kMiB, std::nullopt, interactive), 4);
  EXPECT_EQ(users::hash_concurrency_for(1023 * kMiB, 16.0, interactive), 7);
  // At most the CPUs (a fraction rounds down), at least 1.
  EXPECT_EQ(users::hash_concurrency_for(64 * 1024 * kMiB, 2.0, interactive), 2);
  EXPECT_EQ(users::hash_concurrency_for(64 * 1024 * kMiB, 2.5, interactive), 2);
  EXPECT_EQ(users::hash_concurrency_for(64 * 1024 * kMiB, 0.5, interactive), 1);
  EXPECT_EQ(users::hash_concurrency_for(100 * kMiB, 4.0, interactive), 1);
  EXPECT_EQ(users::hash_concurrency_for(0, 4.0, interactive), 1);
  // A dearer cost fits fewer.
  std::size_t moderate = users::PasswordHasher::memory_per_hash("moderate");
  EXPECT_EQ(moderate, 256 * kMiB);
  EXPECT_EQ(users::hash_concurrency_for(2048 * kMiB, 8.0, moderate), 4);
}

TEST(HashConcurrency, TheSettingWins) {
  users::UsersConfig config;
  config.password_hash_cost = "interactive";
  config.password_hash_concurrency = 3;
  EXPECT_EQ(users::default_hash_concurrency(config), 3);
  config.password_hash_concurrency = 0;
  int computed = users::default_hash_concurrency(config);
  EXPECT_GE(computed, 1);
  EXPECT_LE(computed, common::usable_cpus());
}

// A cgroup tree written out as the kernel shows it.
class CgroupFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cgroup-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + root_ + "'").c_str()); }
  void write(const std::string& path, const std::string& text) {
    std::string full = root_ + "/" + path;
    std::system(("mkdir -p '" + full.substr(0, full.rfind('/')) + "'").c_str());
    std::ofstream(full) << text;
  }
  common::CgroupLimits read() {
    return common::read_cgroup_limits(root_ + "/fs", root_ + "/self_cgroup");
  }
  std::string root_;
};

TEST_F(CgroupFiles, V2_TheTightestLimitOnTheWayUp) {
  write("self_cgroup", "0::/machine/app.scope\n");
  write("fs/machine/app.scope/memory.max", "536870912\n");
  write("fs/machine/app.scope/cpu.max", "max 100000\n");
  write("fs/machine/memory.max", "max\n");
  write("fs/machine/cpu.max", "150000 100000\n");
  auto limits = read();
  ASSERT_TRUE(limits.memory_bytes);
  EXPECT_EQ(*limits.memory_bytes, 512 * kMiB);
  ASSERT_TRUE(limits.cpus);
  EXPECT_DOUBLE_EQ(*limits.cpus, 1.5);
  // podman run --memory=512m --cpus=1.5 at the interactive cost: 4 by memory, 1 by CPUs.
  EXPECT_EQ(users::hash_concurrency_for(*limits.memory_bytes, limits.cpus, 64 * kMiB), 1);
}

TEST_F(CgroupFiles, V2_NoLimits) {
  write("self_cgroup", "0::/\n");
  write("fs/memory.max", "max\n");
  write("fs/cpu.max", "max 100000\n");
  auto limits = read();
  EXPECT_FALSE(limits.memory_bytes);
  EXPECT_FALSE(limits.cpus);
}

TEST_F(CgroupFiles, V1_MemoryAndCpuControllers) {
  write("self_cgroup", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n");
  write("fs/memory/docker/abc/memory.limit_in_bytes", "1073741824\n");
  write("fs/memory/memory.limit_in_bytes", "9223372036854771712\n");  // no limit
  write("fs/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n");
  write("fs/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  auto limits = read();
  ASSERT_TRUE(limits.memory_bytes);
  EXPECT_EQ(*limits.memory_bytes, 1024 * kMiB);
  ASSERT_TRUE(limits.cpus);
  EXPECT_DOUBLE_EQ(*limits.cpus, 2.0);
  EXPECT_EQ(users::hash_concurrency_for(*limits.memory_bytes, limits.cpus, 64 * kMiB), 2);
}

// Inside a container, v1 shows the container's own cgroup as the mount's root.
TEST_F(CgroupFiles, V1_PathNotThere_TheRootCounts) {
  write("self_cgroup", "4:memory:/process_api/b4eb\n1:cpu:/\n");
  write("fs/memory/memory.limit_in_bytes", "268435456\n");
  write("fs/cpu/cpu.cfs_quota_us", "-1\n");
  write("fs/cpu/cpu.cfs_period_us", "100000\n");
  auto limits = read();
  ASSERT_TRUE(limits.memory_bytes);
  EXPECT_EQ(*limits.memory_bytes, 256 * kMiB);
  EXPECT_FALSE(limits.cpus);
}

// A cgroup made inside such a container: its tail is what exists under the mount.
TEST_F(CgroupFiles, V1_NestedInAContainer_TheTailThatExistsCounts) {
  write("self_cgroup", "4:memory:/process_api/b4eb/hash-test\n");
  write("fs/memory/hash-test/memory.limit_in_bytes", "268435456\n");
  write("fs/memory/memory.limit_in_bytes", "1073741824\n");
  auto limits = read();
  ASSERT_TRUE(limits.memory_bytes);
  EXPECT_EQ(*limits.memory_bytes, 256 * kMiB);
}

TEST_F(CgroupFiles, NoFiles_NoLimits) {
  auto limits = read();
  EXPECT_FALSE(limits.memory_bytes);
  EXPECT_FALSE(limits.cpus);
}

TEST(ClientAddress, AddressSetMatchesAddressesAndBlocks) {
  common::AddressSet set({"127.0.0.1", "10.0.0.0/8", "172.16.0.0/12", "::1", "fd00::/8"});
  EXPECT_TRUE(set.contains("127.0.0.1"));
  EXPECT_FALSE(set.contains("127.0.0.2"));
  EXPECT_TRUE(set.contains("10.255.1.2"));
  EXPECT_TRUE(set.contains("172.31.0.1"));
  EXPECT_FALSE(set.contains("172.32.0.1"));
  EXPECT_TRUE(set.contains("::1"));
  EXPECT_TRUE(set.contains("fd12::1"));
  EXPECT_TRUE(set.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(set.contains("nonsense"));
  EXPECT_THROW(common::AddressSet({"localhost"}), std::invalid_argument);
  EXPECT_THROW(common::AddressSet({"10.0.0.0/40"}), std::invalid_argument);
  EXPECT_THROW(common::AddressSet({"10.0.0.0/"}), std::invalid_argument);
}

TEST(ClientAddress, RealIpOnlyFromATrustedPeer) {
  common::AddressSet trusted({"127.0.0.1"});
  common::Request request;
  request.peer_address = "127.0.0.1";
  request.real_ip = "203.0.113.9";
  EXPECT_EQ(common::client_address(request, trusted), "203.0.113.9");
  request.real_ip = "not an address";
  EXPECT_EQ(common::client_address(request, trusted), "127.0.0.1");
  request.real_ip = "";
  EXPECT_EQ(common::client_address(request, trusted), "127.0.0.1");
  request.peer_address = "198.51.100.4";
  request.real_ip = "203.0.113.9";
  EXPECT_EQ(common::client_address(request, trusted), "198.51.100.4");
}

}  // namespace
