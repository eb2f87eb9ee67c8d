// Random (version 4) UUIDs for host, token and key IDs.
#pragma once

#include <string>

#include <botan/rng.h>

namespace hostca {

std::string new_uuid(Botan::RandomNumberGenerator& rng);
// True for the canonical lower- or upper-case 8-4-4-4-12 form.
bool is_uuid(const std::string& text);
// Lower-cases a UUID; throws Error(kInvalidArgument) naming `what` if it is not one.
std::string parse_uuid(const std::string& text, const std::string& what);

}  // namespace hostca
