// Making, checking and hashing mail tokens with libsodium.
#include "account_token.hpp"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace users {
namespace {

void ensure_sodium() {
  // Idempotent and thread-safe; the hasher has called it already in the server.
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

}  // namespace

std::string new_account_token() {
  ensure_sodium();
  std::array<unsigned char, kAccountTokenBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::array<char, sodium_base64_ENCODED_LEN(kAccountTokenBytes,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING)>
      text{};
  sodium_bin2base64(text.data(), text.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(bytes.data(), bytes.size());
  return {text.data()};
}

bool is_account_token(std::string_view token) {
  if (token.size() != kAccountTokenLength) return false;
  ensure_sodium();
  // libsodium's decoder refuses characters outside the alphabet and a last
  // character with bits beyond the 32 bytes (a second spelling of one token).
  std::array<unsigned char, kAccountTokenBytes> bytes{};
  std::size_t length = 0;
  const char* end = nullptr;
  int status = sodium_base642bin(bytes.data(), bytes.size(), token.data(), token.size(), nullptr,
                                 &length, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return status == 0 && length == kAccountTokenBytes && end == token.data() + token.size();
}

std::string account_token_hash(std::string_view token) {
  ensure_sodium();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return {hex.data()};
}

}  // namespace users
