// How the CLIs reach a hostca server: TLS with the CA as the only root
// (a pinned CA for hosts), or, only to fetch the CA before anything is
// pinned, TLS that checks nothing and is followed by a fingerprint check.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

namespace hostca::client {

struct Endpoint {
  std::string address;            // host:port
  std::string ca_pem;             // the only trusted root
  std::string tls_name_override;  // name to expect in the server certificate, if not the host
  std::string client_cert_pem;    // for mutual TLS
  std::string client_key_pem;
  bool plaintext = false;  // development servers only
};

std::shared_ptr<grpc::Channel> open_channel(const Endpoint& endpoint);
// TLS without verifying the server: only for fetching the CA certificate
// whose fingerprint is then checked against one given out of band.
std::shared_ptr<grpc::Channel> open_unverified_channel(const std::string& address);
// The same, presenting a client certificate (PEM) with its key: a host's
// certificate-failure report, which the server verifies only with the
// host's own certificate. A certificate is public; its key never leaves.
std::shared_ptr<grpc::Channel> open_unverified_channel(const std::string& address,
                                                       const std::string& client_cert_pem,
                                                       const std::string& client_key_pem);

std::unique_ptr<grpc::ClientContext> call_context(std::chrono::seconds timeout);

// "UNAUTHENTICATED", "UNAVAILABLE", ...: the status code's name.
std::string status_code_name(grpc::StatusCode code);
// "UNAUTHENTICATED: unknown admin key" and the like, for one-line errors.
std::string describe(const grpc::Status& status);

}  // namespace hostca::client
