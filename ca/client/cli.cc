#include "client/cli.h"

#include <cstdlib>
#include <iostream>

#include "common/files.h"

namespace hostca::client {

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::string secret_from(const std::string& value, const std::string& file,
                        const std::string& env_name, const std::string& what) {
  if (!value.empty()) return trimmed(value);
  if (!file.empty()) {
    const std::string from_file = trimmed(read_file(file, "the " + what + " file"));
    if (from_file.empty()) throw CliFailure("the " + what + " file " + file + " is empty");
    return from_file;
  }
  const char* env = std::getenv(env_name.c_str());
  return env ? trimmed(env) : std::string();
}

Endpoint endpoint_for(const std::string& address, const std::string& ca_pem,
                      const std::string& tls_name) {
  Endpoint e;
  e.address = address;
  e.ca_pem = ca_pem;
  e.tls_name_override = tls_name;
  return e;
}

int run_command(const std::string& program, const std::function<int()>& command,
                const std::function<int(const std::exception&, int)>& code_of) {
  try {
    return command();
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    const auto* failure = dynamic_cast<const CliFailure*>(&e);
    const int code = failure ? failure->exit_code() : kExitFailure;
    return code_of ? code_of(e, code) : code;
  }
}

}  // namespace hostca::client
