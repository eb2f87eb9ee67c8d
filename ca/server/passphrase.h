// Where the CA's secrets come from: the passphrase of the keys kept in the
// database and the PIN of a PKCS#11 token, each from a file (preferred) or
// an environment variable. The values are never logged or put in an error
// message.
#pragma once

#include <string>

namespace hostca {

constexpr const char* kPassphraseEnv = "HOSTCA_PASSPHRASE";
constexpr const char* kPkcs11PinEnv = "HOSTCA_PKCS11_PIN";

// Reads the file if given, else the environment variable; drops trailing
// newlines. Throws Error(kFailedPrecondition) if neither is there.
std::string read_passphrase(const std::string& passphrase_file);
// The same, but empty when neither is given: for a CA whose keys may not
// need it (CaKeyRing::open asks for it when one does). A file given and
// unreadable, or empty, is still an error.
std::string read_passphrase_if_given(const std::string& passphrase_file);
std::string read_pkcs11_pin(const std::string& pin_file);
std::string read_pkcs11_pin_if_given(const std::string& pin_file);

}  // namespace hostca
