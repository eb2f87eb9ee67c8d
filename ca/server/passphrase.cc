#include "server/passphrase.h"

#include <cstdlib>

#include "common/error.h"
#include "common/files.h"

namespace hostca {

std::string read_passphrase(const std::string& passphrase_file) {
  std::string value;
  if (!passphrase_file.empty()) {
    value = read_file(passphrase_file, "the passphrase file");
  } else if (const char* env = std::getenv(kPassphraseEnv)) {
    value = env;
  } else {
    throw failed_precondition(std::string("no CA passphrase: give --passphrase-file or set ") +
                              kPassphraseEnv);
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) throw failed_precondition("the CA passphrase is empty");
  return value;
}

}  // namespace hostca
