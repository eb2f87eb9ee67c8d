#include "server/passphrase.h"

#include <cstdlib>

#include "common/error.h"
#include "common/files.h"

namespace hostca {

namespace {

struct Secret {
  const char* env;
  const char* what;       // "CA passphrase"
  const char* file_what;  // "the passphrase file"
  const char* flag;       // "--passphrase-file"
};

const Secret kPassphrase{kPassphraseEnv, "CA passphrase", "the passphrase file",
                         "--passphrase-file"};
const Secret kPin{kPkcs11PinEnv, "PKCS#11 token PIN", "the PIN file", "--pkcs11-pin-file"};

std::string read_secret(const Secret& secret, const std::string& file, bool required) {
  std::string value;
  if (!file.empty()) {
    value = read_file(file, secret.file_what);
  } else if (const char* env = std::getenv(secret.env)) {
    value = env;
  } else if (required) {
    throw failed_precondition(std::string("no ") + secret.what + ": give " + secret.flag +
                              " or set " + secret.env);
  } else {
    return {};
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) throw failed_precondition(std::string("the ") + secret.what + " is empty");
  return value;
}

}  // namespace

std::string read_passphrase(const std::string& passphrase_file) {
  return read_secret(kPassphrase, passphrase_file, true);
}

std::string read_passphrase_if_given(const std::string& passphrase_file) {
  return read_secret(kPassphrase, passphrase_file, false);
}

std::string read_pkcs11_pin(const std::string& pin_file) {
  return read_secret(kPin, pin_file, true);
}

std::string read_pkcs11_pin_if_given(const std::string& pin_file) {
  return read_secret(kPin, pin_file, false);
}

}  // namespace hostca
