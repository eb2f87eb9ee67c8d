#include "service/client_address.h"

#include <arpa/inet.h>

#include <grpcpp/server_context.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/error.h"
#include "domain/token_attempts.h"

namespace hostca::service {

namespace {

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

struct Ip {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};
};

// "10.0.0.1", "ipv4:10.0.0.1", "2001:db8::1", "[2001:db8::1]", "ipv6:[::1]",
// "ipv6:%5B::1%5D" (gRPC escapes brackets in some versions).
std::optional<Ip> parse_ip(std::string text) {
  text = trimmed(text);
  if (text.rfind("ipv4:", 0) == 0 || text.rfind("ipv6:", 0) == 0) text = text.substr(5);
  for (const char* escaped : {"%5B", "%5b"}) {
    if (text.rfind(escaped, 0) == 0) text = "[" + text.substr(3);
  }
  for (const char* escaped : {"%5D", "%5d"}) {
    const auto at = text.find(escaped);
    if (at != std::string::npos) text = text.substr(0, at) + "]" + text.substr(at + 3);
  }
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  }
  Ip ip;
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    std::memcpy(ip.bytes.data(), &v4, 4);
    return ip;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &v6, 16);
    return ip;
  }
  return std::nullopt;
}

std::string name_of(const Ip& ip) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), text, sizeof text);
  return ip.v6 ? "ipv6:[" + std::string(text) + "]" : "ipv4:" + std::string(text);
}

}  // namespace

TrustedProxies TrustedProxies::parse(const std::string& text) {
  TrustedProxies out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const std::string entry =
        trimmed(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) {
      if (comma == std::string::npos) break;
      throw invalid_argument("trusted proxies: an empty entry (two commas in a row?)");
    }
    const auto slash = entry.find('/');
    const auto ip = parse_ip(entry.substr(0, slash));
    if (!ip) {
      throw invalid_argument("trusted proxies: '" + entry +
                             "' is not an IP address or a CIDR block (10.0.0.0/8, 2001:db8::/32)");
    }
    Block block;
    block.v6 = ip->v6;
    block.bytes = ip->bytes;
    block.prefix = ip->v6 ? 128 : 32;
    if (slash != std::string::npos) {
      const std::string bits = entry.substr(slash + 1);
      if (bits.empty() || bits.size() > 3 ||
          bits.find_first_not_of("0123456789") != std::string::npos ||
          std::stoi(bits) > block.prefix) {
        throw invalid_argument("trusted proxies: '" + entry + "' has a bad prefix length");
      }
      block.prefix = std::stoi(bits);
    }
    out.blocks_.push_back(block);
  }
  return out;
}

bool TrustedProxies::contains(const std::string& address) const {
  const auto ip = parse_ip(address);
  if (!ip) return false;
  for (const auto& b : blocks_) {
    if (b.v6 != ip->v6) continue;
    int bits = b.prefix;
    bool match = true;
    for (std::size_t i = 0; bits > 0 && match; ++i, bits -= 8) {
      const std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = (b.bytes[i] & mask) == (ip->bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string client_address(const std::string& peer, const std::vector<std::string>& forwarded_for,
                           const TrustedProxies& trusted) {
  const std::string address = peer_address(peer);
  const auto peer_ip = parse_ip(address);
  std::string client = peer_ip ? name_of(*peer_ip) : address;
  if (!peer_ip || trusted.empty() || !trusted.contains(address)) return client;
  // Every hop, left to right, across however many header values came.
  std::vector<std::string> hops;
  for (const auto& value : forwarded_for) {
    std::size_t start = 0;
    while (start <= value.size()) {
      const auto comma = value.find(',', start);
      hops.push_back(
          value.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      start = comma == std::string::npos ? value.size() + 1 : comma + 1;
    }
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const auto hop = parse_ip(*it);
    if (!hop) break;  // not an address: trust nothing further left
    client = name_of(*hop);
    if (!trusted.contains(client)) break;
  }
  return client;
}

std::string client_address(const grpc::ServerContextBase& context, const TrustedProxies& trusted) {
  std::vector<std::string> forwarded;
  if (!trusted.empty()) {
    const auto& md = context.client_metadata();
    const auto range = md.equal_range("x-forwarded-for");
    for (auto it = range.first; it != range.second; ++it) {
      forwarded.emplace_back(it->second.data(), it->second.size());
    }
  }
  return client_address(context.peer(), forwarded, trusted);
}

}  // namespace hostca::service
