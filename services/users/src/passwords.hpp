// Password hashing: Argon2id through libsodium's crypto_pwhash_str, whose
// output carries its own salt and cost, so a stored hash stays verifiable when
// the configured cost changes. Deliberately slow: the work runs off the event
// loop (common::run_off_loop) while the calling fiber waits.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace users {

class PasswordHasher {
 public:
  // cost: "min" (tests), "interactive", "moderate" or "sensitive".
  explicit PasswordHasher(const std::string& cost);

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
};

// The password policy: 8 to 128 characters of valid UTF-8, not only spaces.
bool is_acceptable_password(std::string_view password);

}  // namespace users
