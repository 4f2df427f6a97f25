// Password hashing: Argon2id through libsodium's crypto_pwhash_str, whose
// output carries its own salt and cost, so a stored hash stays verifiable when
// the configured cost changes. Deliberately slow: the work runs off the event
// loop (common::run_off_loop) while the calling fiber waits, and at most
// `concurrency` hashes run at once, each taking the cost's memory (64 MiB at
// "interactive"): a request that waits longer than the queue timeout for its
// turn gets 503 with Retry-After instead.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/fiber_gate.hpp"
#include "users_config.hpp"

namespace users {

class PasswordHasher {
 public:
  // cost: "min" (tests), "interactive", "moderate" or "sensitive".
  explicit PasswordHasher(const std::string& cost, int concurrency = 1,
                          std::chrono::milliseconds queue_timeout = std::chrono::seconds(2));

  int concurrency() const { return gate_->slots(); }
  // Hashes and verifications computed so far (the constructor's dummy hash
  // included): /metrics shows what spends the pool.
  unsigned long long computations() const { return computations_.load(std::memory_order_relaxed); }
  // The memory one hash of `cost` takes.
  static std::size_t memory_per_hash(const std::string& cost);

  std::string hash(std::string_view password) const;
  bool verify(const std::string& stored_hash, std::string_view password) const;
  // Verifies against a hash of a random password at the same cost: what login
  // does for an unknown email, so that it takes as long as a wrong password.
  void verify_dummy(std::string_view password) const;

 private:
  template <typename Compute>
  auto gated(Compute&& compute) const;

  unsigned long long opslimit_;
  std::size_t memlimit_;
  std::string dummy_hash_;
  std::unique_ptr<common::FiberGate> gate_;
  std::chrono::milliseconds queue_timeout_;
  mutable std::atomic<unsigned long long> computations_{0};
};

// How many hashes of `per_hash` bytes fit in half of `memory_bytes`, at most
// `cpus` (rounded down), at least 1.
int hash_concurrency_for(std::uint64_t memory_bytes, std::optional<double> cpus,
                         std::size_t per_hash);
// PASSWORD_HASH_CONCURRENCY if set, else hash_concurrency_for the cgroup's
// memory limit (the machine's memory without one) and the CPUs the cgroup
// and the affinity mask allow, at the configured cost.
int default_hash_concurrency(const UsersConfig& config);

// The password policy: 8 to 128 characters of valid UTF-8, not only spaces.
bool is_acceptable_password(std::string_view password);

}  // namespace users
