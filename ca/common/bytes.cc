#include "common/bytes.h"

#include <botan/hash.h>

#include "common/error.h"

namespace hostca {

std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Bytes from_hex(const std::string& hex, const std::string& what) {
  std::string digits;
  digits.reserve(hex.size());
  for (char c : hex) {
    if (c == ':') continue;
    if (hex_value(c) < 0) throw invalid_argument(what + " must be hexadecimal");
    digits.push_back(c);
  }
  if (digits.empty() || digits.size() % 2 != 0) {
    throw invalid_argument(what + " must be an even, non-zero number of hex digits");
  }
  Bytes out(digits.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] =
        static_cast<std::uint8_t>(hex_value(digits[2 * i]) << 4 | hex_value(digits[2 * i + 1]));
  }
  return out;
}

Bytes sha256(const Bytes& data) {
  auto hash = Botan::HashFunction::create_or_throw("SHA-256");
  hash->update(data);
  const auto digest = hash->final();
  return Bytes(digest.begin(), digest.end());
}

Bytes sha256(const std::string& data) { return sha256(Bytes(data.begin(), data.end())); }

}  // namespace hostca
