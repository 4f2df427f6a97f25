// Argon2id hashing and the password policy.
#include "passwords.hpp"

#include <sodium.h>

#include <stdexcept>

#include "common/event_loop.hpp"
#include "validation.hpp"

namespace users {
namespace {

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

// Off the event loop, on the small pool whose size bounds how many hashes
// run at once (each takes memlimit_, 64 MiB at "interactive", and a core for
// a quarter of a second), however many clients log in together.
template <typename Compute>
auto PasswordHasher::gated(Compute&& compute) const {
  decltype(compute()) result{};
  common::run_off_loop([&] { result = compute(); });
  return result;
}

PasswordHasher::PasswordHasher(const std::string& cost) {
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

bool is_acceptable_password(std::string_view password) {
  if (!is_valid_utf8(password) || password.find('\0') != std::string_view::npos) return false;
  std::size_t length = utf8_length(password);
  if (length < 8 || length > 128) return false;
  return password.find_first_not_of(' ') != std::string_view::npos;
}

}  // namespace users
