#include "client/channel.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace hostca::client {

namespace {
grpc::ChannelArguments base_arguments() {
  grpc::ChannelArguments args;
  // A CLI call either reaches the server quickly or says why it cannot.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}
}  // namespace

std::shared_ptr<grpc::Channel> open_channel(const Endpoint& endpoint) {
  grpc::ChannelArguments args = base_arguments();
  if (endpoint.plaintext) {
    return grpc::CreateCustomChannel(endpoint.address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = endpoint.ca_pem;
  ssl.pem_cert_chain = endpoint.client_cert_pem;
  ssl.pem_private_key = endpoint.client_key_pem;
  if (!endpoint.tls_name_override.empty()) {
    args.SetSslTargetNameOverride(endpoint.tls_name_override);
  }
  return grpc::CreateCustomChannel(endpoint.address, grpc::SslCredentials(ssl), args);
}

std::shared_ptr<grpc::Channel> open_unverified_channel(const std::string& address) {
  return open_unverified_channel(address, "", "");
}

std::shared_ptr<grpc::Channel> open_unverified_channel(const std::string& address,
                                                       const std::string& client_cert_pem,
                                                       const std::string& client_key_pem) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  if (!client_cert_pem.empty() && !client_key_pem.empty()) {
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            std::vector<grpc::experimental::IdentityKeyCertPair>{
                {client_key_pem, client_cert_pem}}));
    options.watch_identity_key_cert_pairs();
  }
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(options),
                                   base_arguments());
}

std::unique_ptr<grpc::ClientContext> call_context(std::chrono::seconds timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

std::string status_code_name(grpc::StatusCode status_code) {
  static const char* names[] = {"OK",
                                "CANCELLED",
                                "UNKNOWN",
                                "INVALID_ARGUMENT",
                                "DEADLINE_EXCEEDED",
                                "NOT_FOUND",
                                "ALREADY_EXISTS",
                                "PERMISSION_DENIED",
                                "RESOURCE_EXHAUSTED",
                                "FAILED_PRECONDITION",
                                "ABORTED",
                                "OUT_OF_RANGE",
                                "UNIMPLEMENTED",
                                "INTERNAL",
                                "UNAVAILABLE",
                                "DATA_LOSS",
                                "UNAUTHENTICATED"};
  const int code = static_cast<int>(status_code);
  return code >= 0 && code <= 16 ? names[code] : "UNKNOWN";
}

std::string describe(const grpc::Status& status) {
  const std::string name = status_code_name(status.error_code());
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    message +=
        " (is the server running at that address, and does its TLS certificate chain to "
        "the CA?)";
  }
  return name + ": " + message;
}

}  // namespace hostca::client
