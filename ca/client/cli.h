// What the CLIs share besides the channel: where a server and a secret come
// from (flag, file or environment, whitespace trimmed), and how a command
// ends (one line on stderr, an exit code).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include "client/channel.h"

namespace hostca::client {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
// The agent's certificate failure: the server is not the pinned CA's.
constexpr int kExitCertificateFailure = 3;

// Thrown by a command to end with this line and exit code.
class CliFailure : public std::runtime_error {
 public:
  explicit CliFailure(const std::string& line, int exit_code = kExitFailure)
      : std::runtime_error(line), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// `text` without blanks and line ends around it.
std::string trimmed(const std::string& text);

// A secret (token, admin key) from its flag, else the file a flag names, else
// an environment variable; trimmed. Empty when none of them gives one. A
// file that is given must hold one: an empty file is a CliFailure.
std::string secret_from(const std::string& value, const std::string& file,
                        const std::string& env_name, const std::string& what);

// A server reached by address: TLS with `ca_pem` as the only root and
// `tls_name` (if not empty) the name its certificate must carry.
Endpoint endpoint_for(const std::string& address, const std::string& ca_pem,
                      const std::string& tls_name);

// Runs the chosen command; a failure prints "<program>: <line>" on stderr and
// returns an exit code: a CliFailure's own, else kExitFailure, either of
// them as `code_of(e, code)` decides when it is given.
int run_command(const std::string& program, const std::function<int()>& command,
                const std::function<int(const std::exception&, int)>& code_of = {});

}  // namespace hostca::client
