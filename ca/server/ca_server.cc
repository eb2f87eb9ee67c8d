#include "server/ca_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "domain/bootstrap.h"
#include "service/admin_service.h"
#include "service/host_service.h"

namespace hostca {

std::pair<std::string, int> split_host_port(const std::string& address, const std::string& what) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw invalid_argument(what + " '" + address + "' must be host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw invalid_argument(what + " '" + address + "' has a bad port");
  return {host, port};
}

CaServer::CaServer(ServeOptions options) : options_(std::move(options)) {
  store_ = std::make_unique<store::PgStore>(options_.database);
  const OpenedCa ca = open_ca(*store_, options_.passphrase);
  options_.passphrase.assign(options_.passphrase.size(), '\0');
  options_.passphrase.clear();

  const auto [http_host, http_port] = split_host_port(options_.http_listen, "HTTP listen address");
  const auto [grpc_host, grpc_port] = split_host_port(options_.grpc_listen, "gRPC listen address");
  (void)grpc_port;
  (void)grpc_host;

  // The HTTP port is bound first so that a derived CRL URL names the real port.
  CaCertificateView view;
  {
    const auto der = ca.signer->ca_certificate().BER_encode();
    view.der = Bytes(der.begin(), der.end());
    view.pem = ca.signer->ca_certificate().PEM_encode();
    view.sha256_fingerprint = certificate_fingerprint(ca.signer->ca_certificate());
    view.spki_sha256 = spki_fingerprint(ca.signer->ca_certificate());
  }
  http_ = std::make_unique<HttpEndpoint>(http_host, http_port, view);
  CertificateProfile profile = options_.profile;
  if (profile.crl_base_url.empty()) {
    profile.crl_base_url = "http://" + http_host + ":" + std::to_string(http_->port()) + "/crl";
  }
  AuthorityConfig config = options_.authority;
  config.crl_shards = ca.crl_shards;
  auto issuer = std::make_shared<const CertificateIssuer>(profile, ca.signer);
  authority_ = std::make_unique<Authority>(*store_, issuer, clock_, config);

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options_.insecure_plaintext) {
    spdlog::warn("serving gRPC WITHOUT TLS (--insecure-plaintext): for development only");
    creds = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({read_file(options_.tls_key_file, "the TLS key"),
                                      read_file(options_.tls_cert_file, "the TLS certificate")});
    ssl.pem_root_certs = view.pem;
    // Client certificates are asked for (renewal uses them) but not required.
    ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
    creds = grpc::SslServerCredentials(ssl);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.grpc_listen, creds, &grpc_port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  services_.push_back(std::make_unique<service::HostServiceImpl>(*authority_));
  services_.push_back(std::make_unique<service::AdminServiceImpl>(*authority_));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    http_->stop();
    throw failed_precondition("cannot listen for gRPC on " + options_.grpc_listen);
  }
  spdlog::info("hostca serving gRPC on port {} ({}) and HTTP on {}:{}; CA SHA-256 {}", grpc_port_,
               options_.insecure_plaintext ? "plaintext" : "TLS", http_host, http_->port(),
               view.sha256_fingerprint);
}

CaServer::~CaServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (http_) http_->stop();
}

void CaServer::shutdown(std::chrono::seconds grace) {
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  http_->stop();
}

}  // namespace hostca
