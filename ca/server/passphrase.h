// Where the CA passphrase comes from: a file (preferred) or an environment
// variable. The value is never logged or put in an error message.
#pragma once

#include <string>

namespace hostca {

constexpr const char* kPassphraseEnv = "HOSTCA_PASSPHRASE";

// Reads the file if given, else the environment variable; drops one trailing
// newline. Throws Error(kFailedPrecondition) if neither is there.
std::string read_passphrase(const std::string& passphrase_file);

}  // namespace hostca
