// Byte strings and their hex form, as used for serials, hashes and fingerprints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hostca {

using Bytes = std::vector<std::uint8_t>;

// Lower-case hex, no separators.
std::string to_hex(const Bytes& bytes);
// Accepts upper or lower case and ':' separators; throws Error(kInvalidArgument).
Bytes from_hex(const std::string& hex, const std::string& what);

Bytes sha256(const Bytes& data);
Bytes sha256(const std::string& data);

}  // namespace hostca
