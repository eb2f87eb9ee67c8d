#include "server/served_tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/error.h"
#include "common/files.h"

namespace hostca {

ServedTls::ServedTls(const std::string& key_file, const std::string& chain_pem)
    : key_file_(key_file) {
  std::string pattern = (std::filesystem::temp_directory_path() / "hostca-tls-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {  // mode 0700
    throw failed_precondition("cannot make a folder for the served TLS chain under " +
                              std::filesystem::temp_directory_path().string() + ": " +
                              std::strerror(errno));
  }
  dir_ = buf.data();
  chain_file_ = dir_ + "/chain.pem";
  write(chain_pem);
}

ServedTls::~ServedTls() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ServedTls::write(const std::string& chain_pem) {
  write_file_atomically(chain_file_, chain_pem, 0644);
}

std::shared_ptr<grpc::ServerCredentials> ServedTls::credentials() const {
  // Only the chain changes (rename: gRPC never reads half a file); the key
  // is tls.key itself, never copied.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      key_file_, chain_file_, 1);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace hostca
