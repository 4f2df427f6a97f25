// Trusted-proxy matching for the client's address.
#include "common/client_address.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <optional>
#include <stdexcept>

namespace common {
namespace {

struct Parsed {
  int family;
  unsigned char bytes[16];
};

std::optional<Parsed> parse_ip(const std::string& text) {
  Parsed parsed{};
  std::string ip = text;
  // An IPv4-mapped IPv6 peer (::ffff:1.2.3.4) is the IPv4 address.
  if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
  if (::inet_pton(AF_INET, ip.c_str(), parsed.bytes) == 1) {
    parsed.family = AF_INET;
    return parsed;
  }
  if (::inet_pton(AF_INET6, ip.c_str(), parsed.bytes) == 1) {
    parsed.family = AF_INET6;
    return parsed;
  }
  return std::nullopt;
}

}  // namespace

AddressSet::AddressSet(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    auto slash = entry.find('/');
    auto ip = parse_ip(entry.substr(0, slash));
    if (!ip) throw std::invalid_argument(entry);
    int max_bits = ip->family == AF_INET ? 32 : 128;
    int bits = max_bits;
    if (slash != std::string::npos) {
      std::string digits = entry.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        throw std::invalid_argument(entry);
      }
      bits = std::stoi(digits);
      if (bits > max_bits) throw std::invalid_argument(entry);
    }
    Block block{ip->family, {}, bits};
    std::memcpy(block.bytes, ip->bytes, sizeof block.bytes);
    blocks_.push_back(block);
  }
}

bool AddressSet::contains(const std::string& address) const {
  auto ip = parse_ip(address);
  if (!ip) return false;
  for (const auto& block : blocks_) {
    if (block.family != ip->family) continue;
    int full = block.prefix_bits / 8;
    int rest = block.prefix_bits % 8;
    if (std::memcmp(block.bytes, ip->bytes, static_cast<std::size_t>(full)) != 0) continue;
    if (rest == 0) return true;
    auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    if ((block.bytes[full] & mask) == (ip->bytes[full] & mask)) return true;
  }
  return false;
}

std::string client_address(const Request& request, const AddressSet& trusted_proxies) {
  if (!request.real_ip.empty() && trusted_proxies.contains(request.peer_address) &&
      parse_ip(request.real_ip)) {
    return request.real_ip;
  }
  return request.peer_address;
}

}  // namespace common
