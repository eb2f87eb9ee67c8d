#include "common/uuid.h"

#include <cctype>

#include <botan/system_rng.h>

#include "common/bytes.h"
#include "common/error.h"

namespace hostca {

std::string new_uuid(Botan::RandomNumberGenerator& rng) {
  auto b = rng.random_vec(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  const std::string h = to_hex(Bytes(b.begin(), b.end()));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::string parse_uuid(const std::string& text, const std::string& what) {
  if (text.empty()) throw invalid_argument(what + " is empty");
  if (!is_uuid(text)) {
    throw invalid_argument(what + " must be a UUID like 123e4567-e89b-42d3-a456-426614174000");
  }
  std::string out = text;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace hostca
