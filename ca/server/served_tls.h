// The TLS identity the gRPC port presents, replaceable while serving: gRPC
// reads the chain from a file of this server's own (a private folder under
// the temporary directory, removed at exit) and the key from tls.key, and
// picks a new chain up within a second of write().
#pragma once

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

namespace hostca {

class ServedTls {
 public:
  // Writes the first chain; throws Error(kFailedPrecondition) if the folder
  // or the file cannot be made.
  ServedTls(const std::string& key_file, const std::string& chain_pem);
  ~ServedTls();
  ServedTls(const ServedTls&) = delete;
  ServedTls& operator=(const ServedTls&) = delete;

  // Credentials that ask for a client certificate and leave its checks to
  // the authority (renewal, trust reports), presenting the latest chain.
  std::shared_ptr<grpc::ServerCredentials> credentials() const;
  // Replaces the chain (same key), whole.
  void write(const std::string& chain_pem);
  const std::string& chain_file() const { return chain_file_; }

 private:
  std::string key_file_;
  std::string dir_;
  std::string chain_file_;
};

}  // namespace hostca
