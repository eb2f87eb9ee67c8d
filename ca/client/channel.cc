#include "client/channel.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "client/server_verifier.h"

namespace hostca::client {

namespace {
grpc::ChannelArguments base_arguments() {
  grpc::ChannelArguments args;
  // A CLI call either reaches the server quickly or says why it cannot.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

// The host part of "host:port", "[v6]:port" or "dns:///host:port".
std::string host_of(std::string address) {
  if (const auto scheme = address.find(":///"); scheme != std::string::npos) {
    address = address.substr(scheme + 4);
  }
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    return close == std::string::npos ? address : address.substr(1, close - 1);
  }
  const auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}
}  // namespace

std::shared_ptr<grpc::Channel> open_channel(const Endpoint& endpoint) {
  grpc::ChannelArguments args = base_arguments();
  if (endpoint.plaintext) {
    return grpc::CreateCustomChannel(endpoint.address, grpc::InsecureChannelCredentials(), args);
  }
  // The chain is verified against the CA alone (gRPC); the name and the
  // server marker by our verifier, in the handshake, before any call is sent.
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (!endpoint.client_cert_pem.empty()) {
    identity.push_back({endpoint.client_key_pem, endpoint.client_cert_pem});
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(endpoint.ca_pem,
                                                                          identity));
  options.watch_root_certs();
  if (!identity.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_check_call_host(false);
  const std::string expected_name =
      endpoint.tls_name_override.empty() ? host_of(endpoint.address) : endpoint.tls_name_override;
  options.set_certificate_verifier(server_certificate_verifier(expected_name));
  if (!endpoint.tls_name_override.empty()) {
    args.SetSslTargetNameOverride(endpoint.tls_name_override);
  }
  return grpc::CreateCustomChannel(endpoint.address, grpc::experimental::TlsCredentials(options),
                                   args);
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
  // Nothing is known to verify a chain against yet, but a host certificate
  // never passes for a server, even here.
  options.set_certificate_verifier(server_certificate_verifier(""));
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
  if (const std::string refusal = last_server_refusal();
      !refusal.empty() && status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return name + ": " + message + " (refused in the TLS handshake: " + refusal + ")";
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    message +=
        " (is the server running at that address, and does its TLS certificate chain to "
        "the CA?)";
  }
  return name + ": " + message;
}

}  // namespace hostca::client
