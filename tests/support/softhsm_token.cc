#include "support/softhsm_token.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace hostca::testing {

namespace fs = std::filesystem;

SoftHsmToken::SoftHsmToken(std::string token_label, std::string pin)
    : label_(std::move(token_label)), pin_(std::move(pin)) {
  if (!fs::exists(kSoftHsmModule)) {
    throw std::runtime_error(std::string(kSoftHsmModule) +
                             " is missing: install the Debian package softhsm2");
  }
  static std::atomic<int> made{0};
  folder_ = fs::temp_directory_path() /
            ("hostca-softhsm-" + std::to_string(::getpid()) + "-" + std::to_string(made++));
  fs::remove_all(folder_);
  fs::create_directories(folder_ / "tokens");
  std::ofstream(folder_ / "softhsm2.conf")
      << "directories.tokendir = " << (folder_ / "tokens").string() << "\nlog.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", (folder_ / "softhsm2.conf").c_str(), 1);
  const std::string init = "softhsm2-util --init-token --free --label '" + label_ + "' --pin '" +
                           pin_ + "' --so-pin 12345678 >/dev/null";
  if (std::system(init.c_str()) != 0) throw std::runtime_error("softhsm2-util --init-token failed");
}

SoftHsmToken::~SoftHsmToken() {
  std::error_code ignored;
  fs::remove_all(folder_, ignored);
}

Pkcs11KeyOptions SoftHsmToken::key(const std::string& key_label) const {
  Pkcs11KeyOptions o;
  o.module_path = kSoftHsmModule;
  o.token_label = label_;
  o.key_label = key_label;
  o.pin = pin_;
  o.max_sessions = 4;
  return o;
}

}  // namespace hostca::testing
