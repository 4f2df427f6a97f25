// Argon2id hashing and the password policy.
#include "passwords.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "common/cgroup.hpp"
#include "common/event_loop.hpp"
#include "common/http.hpp"
#include "validation.hpp"

namespace users {
namespace {

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

// Off the event loop, once the gate lets it in: however many clients log in
// together, at most `concurrency` hashes (each memlimit_, 64 MiB at
// "interactive", and a core for a quarter of a second) run at once. Outside
// a fiber (manage) the work runs inline, ungated.
template <typename Compute>
auto PasswordHasher::gated(Compute&& compute) const {
  decltype(compute()) result{};
  if (!common::Fiber::current()) {
    computations_.fetch_add(1, std::memory_order_relaxed);
    return compute();
  }
  if (!gate_->enter(queue_timeout_)) {
    // Saturated, like a database with every connection busy: 503 with Retry-After.
    throw common::ServiceUnavailable("Too many password checks at once. Please try again shortly.");
  }
  computations_.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    common::FiberGate& gate;
    ~Leave() { gate.leave(); }
  } leave{*gate_};
  common::run_off_loop([&] { result = compute(); });
  return result;
}

std::size_t PasswordHasher::memory_per_hash(const std::string& cost) {
  if (cost == "min") return crypto_pwhash_MEMLIMIT_MIN;
  if (cost == "interactive") return crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (cost == "moderate") return crypto_pwhash_MEMLIMIT_MODERATE;
  if (cost == "sensitive") return crypto_pwhash_MEMLIMIT_SENSITIVE;
  throw std::invalid_argument("unknown password hash cost: " + cost);
}

PasswordHasher::PasswordHasher(const std::string& cost, int concurrency,
                               std::chrono::milliseconds queue_timeout)
    : gate_(std::make_unique<common::FiberGate>(concurrency)), queue_timeout_(queue_timeout) {
  init_sodium();
  if (cost == "min") {
    opslimit_ = crypto_pwhash_OPSLIMIT_MIN;
    memlimit_ = crypto_pwhash_MEMLIMIT_MIN;
  } else if (cost == "interactive") {
    opslimit_ = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    memlimit_ = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  } else if (cost == "moderate") {
    opslimit_ = crypto_pwhash_OPSLIMIT_MODERATE;
    memlimit_ = crypto_pwhash_MEMLIMIT_MODERATE;
  } else if (cost == "sensitive") {
    opslimit_ = crypto_pwhash_OPSLIMIT_SENSITIVE;
    memlimit_ = crypto_pwhash_MEMLIMIT_SENSITIVE;
  } else {
    throw std::invalid_argument("unknown password hash cost: " + cost);
  }
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  dummy_hash_ = hash(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

std::string PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  int failed = gated([&] {
    return crypto_pwhash_str(out, password.data(), password.size(), opslimit_, memlimit_);
  });
  if (failed != 0) throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool PasswordHasher::verify(const std::string& stored_hash, std::string_view password) const {
  return gated([&] {
           return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size());
         }) == 0;
}

void PasswordHasher::verify_dummy(std::string_view password) const {
  verify(dummy_hash_, password);
}

int hash_concurrency_for(std::uint64_t memory_bytes, std::optional<double> cpus,
                         std::size_t per_hash) {
  std::uint64_t fits = memory_bytes / 2 / std::max<std::size_t>(1, per_hash);
  int jobs = static_cast<int>(std::min<std::uint64_t>(fits, 1024));
  if (cpus) jobs = std::min(jobs, static_cast<int>(std::floor(*cpus)));
  return std::max(1, jobs);
}

int default_hash_concurrency(const UsersConfig& config) {
  if (config.password_hash_concurrency > 0) return config.password_hash_concurrency;
  auto limits = common::read_cgroup_limits();
  std::uint64_t memory = limits.memory_bytes.value_or(common::physical_memory_bytes());
  if (memory == 0) memory = std::uint64_t{1} << 30;  // unknown: assume 1 GiB
  double cpus = common::usable_cpus();
  if (limits.cpus) cpus = std::min(cpus, *limits.cpus);
  return hash_concurrency_for(memory, cpus,
                              PasswordHasher::memory_per_hash(config.password_hash_cost));
}

bool is_acceptable_password(std::string_view password) {
  if (!is_valid_utf8(password) || password.find('\0') != std::string_view::npos) return false;
  std::size_t length = utf8_length(password);
  if (length < 8 || length > 128) return false;
  return password.find_first_not_of(' ') != std::string_view::npos;
}

}  // namespace users
