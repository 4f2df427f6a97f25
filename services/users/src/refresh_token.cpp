// Refresh tokens and their sealed successors over libsodium.
#include "refresh_token.hpp"

#include <sodium.h>

#include <stdexcept>
#include <string_view>
#include <vector>

namespace users {
namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenLength = 43;  // base64url of 32 bytes, no padding
// Domain separation: the sealing key is never the stored hash (SHA-256) nor
// derived like anything else.
// (A BLAKE2b key: 16 to 64 bytes.)
constexpr std::string_view kSealContext = "users-service refresh successor";

void init_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

std::string bytea_text(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return "\\x" + hex;
}

std::optional<std::vector<unsigned char>> from_bytea_text(const std::string& text) {
  if (text.size() < 2 || text.compare(0, 2, "\\x") != 0) return std::nullopt;
  std::vector<unsigned char> bytes(text.size() / 2);
  std::size_t size = 0;
  if (sodium_hex2bin(bytes.data(), bytes.size(), text.data() + 2, text.size() - 2, nullptr, &size,
                     nullptr) != 0) {
    return std::nullopt;
  }
  bytes.resize(size);
  return bytes;
}

void sealing_key(const std::string& token, unsigned char (&key)[crypto_secretbox_KEYBYTES]) {
  crypto_generichash(key, sizeof key, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), reinterpret_cast<const unsigned char*>(kSealContext.data()),
                     kSealContext.size());
}

}  // namespace

std::string new_refresh_token() {
  init_sodium();
  unsigned char random[kTokenBytes];
  randombytes_buf(random, sizeof random);
  char encoded[sodium_base64_ENCODED_LEN(kTokenBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(encoded, sizeof encoded, random, sizeof random,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(random, sizeof random);
  return encoded;
}

std::optional<std::string> refresh_token_hash(const std::string& token) {
  if (token.size() != kTokenLength) return std::nullopt;
  unsigned char raw[kTokenBytes + 1];
  std::size_t size = 0;
  if (sodium_base642bin(raw, sizeof raw, token.data(), token.size(), nullptr, &size, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      size != kTokenBytes) {
    return std::nullopt;
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return bytea_text(digest, sizeof digest);
}

std::string seal_successor(const std::string& retired_token, const std::string& plain) {
  init_sodium();
  unsigned char key[crypto_secretbox_KEYBYTES];
  sealing_key(retired_token, key);
  std::vector<unsigned char> sealed(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                    plain.size());
  randombytes_buf(sealed.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(sealed.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        sealed.data(), key);
  sodium_memzero(key, sizeof key);
  return bytea_text(sealed.data(), sealed.size());
}

std::optional<std::string> open_successor(const std::string& retired_token,
                                          const std::string& sealed) {
  auto bytes = from_bytea_text(sealed);
  if (!bytes || bytes->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return std::nullopt;
  }
  unsigned char key[crypto_secretbox_KEYBYTES];
  sealing_key(retired_token, key);
  const unsigned char* nonce = bytes->data();
  const unsigned char* box = nonce + crypto_secretbox_NONCEBYTES;
  std::size_t box_size = bytes->size() - crypto_secretbox_NONCEBYTES;
  std::string plain(box_size - crypto_secretbox_MACBYTES, '\0');
  int opened = crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()), box,
                                          box_size, nonce, key);
  sodium_memzero(key, sizeof key);
  if (opened != 0) return std::nullopt;
  return plain;
}

}  // namespace users
