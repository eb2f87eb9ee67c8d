#include "server/ca_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "common/files.h"
#include "domain/bootstrap.h"
#include "service/admin_service.h"
#include "service/host_service.h"
#include "service/revocation_service.h"

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
  split_host_port(options_.grpc_listen, "gRPC listen address");

  // The HTTP port is bound first so that a derived CRL URL names the real port.
  http_ = std::make_unique<HttpEndpoint>(http_host, http_port, options_.http_threads);
  CertificateProfile profile = options_.profile;
  if (profile.crl_base_url.empty()) {
    profile.crl_base_url = "http://" + http_host + ":" + std::to_string(http_->port()) + "/crl";
  }
  AuthorityConfig config = options_.authority;
  config.crl_shards = ca.crl_shards;
  auto issuer = std::make_shared<const CertificateIssuer>(profile, ca.signer);
  authority_ = std::make_unique<Authority>(*store_, issuer, clock_, config);
  if (!options_.insecure_plaintext) {
    tls_certificate_pem_ = read_file(options_.tls_cert_file, "the TLS certificate");
    check_tls_certificate();
  }

  // CRLs: publish what is due (a new CA has none yet), load them, keep them
  // fresh from our own publications and from every other server's NOTIFY.
  crl_cache_ = std::make_unique<CrlCache>(*authority_);
  observability_ = std::make_unique<Observability>(*store_, *authority_);
  authority_->on_committed(
      [this](const OperationOutcome& outcome) { observability_->committed(outcome); });
  authority_->on_crl_published([this](const PublishedCrl& crl) {
    observability_->crl_published(crl);
    store::CrlShardRow row;
    row.shard = crl.shard;
    row.crl_number = crl.crl_number;
    row.this_update = crl.this_update;
    row.next_update = crl.next_update;
    row.der = crl.der;
    crl_cache_->offer(row);
  });
  authority_->republish_due_crls();
  crl_cache_->refresh(std::nullopt);
  listener_ = std::make_unique<store::PgListener>(
      options_.database.conninfo, std::vector<std::string>{"hostca_crl", "hostca_revocation"},
      [this](const std::string& channel, const std::string& payload) {
        if (channel == "hostca_revocation") {
          revocations_.notify();
          return;
        }
        try {
          // "shard:crl_number": our own publications are already cached.
          const auto colon = payload.find(':');
          const int shard = std::stoi(payload.substr(0, colon));
          if (colon != std::string::npos &&
              crl_cache_->holds(shard, std::stoll(payload.substr(colon + 1)))) {
            return;
          }
          crl_cache_->refresh(shard);
        } catch (const std::exception& e) {
          spdlog::warn("cannot refresh CRL shard {}: {}", payload, e.what());
        }
      },
      [this] {
        // Notifications sent while disconnected are lost: catch up.
        revocations_.notify();
        try {
          crl_cache_->refresh(std::nullopt);
        } catch (const std::exception& e) {
          spdlog::warn("cannot refresh CRLs: {}", e.what());
        }
      });
  scheduler_ = std::thread([this] { run_crl_schedule(); });
  http_->serve(authority_->ca_certificate(), *crl_cache_, *observability_);

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options_.insecure_plaintext) {
    spdlog::warn("serving gRPC WITHOUT TLS (--insecure-plaintext): for development only");
    creds = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back(
        {read_file(options_.tls_key_file, "the TLS key"), tls_certificate_pem_});
    ssl.pem_root_certs = authority_->ca_certificate().pem;
    // Client certificates are asked for (renewal uses them) but not required.
    ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
    creds = grpc::SslServerCredentials(ssl);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.grpc_listen, creds, &grpc_port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(observability_->call_interceptor());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  services_.push_back(std::make_unique<service::HostServiceImpl>(*authority_));
  services_.push_back(std::make_unique<service::AdminServiceImpl>(*authority_));
  auto revocation = std::make_unique<service::RevocationServiceImpl>(*authority_, revocations_);
  revocation_service_ = revocation.get();
  services_.push_back(std::move(revocation));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    stop_background();
    throw failed_precondition("cannot listen for gRPC on " + options_.grpc_listen);
  }
  spdlog::info(
      "hostca serving gRPC on port {} ({}) and HTTP on {}:{}; CA SHA-256 {}; {} CRL shards",
      grpc_port_, options_.insecure_plaintext ? "plaintext" : "TLS", http_host, http_->port(),
      authority_->ca_certificate().sha256_fingerprint, ca.crl_shards);
}

void CaServer::check_tls_certificate() {
  const ServerTlsCheck check = reserve_server_names(*store_, tls_certificate_pem_, clock_);
  if (!check.has_marker) {
    spdlog::error(
        "the TLS certificate {} is not a hostca server certificate (its subject lacks O={}): "
        "hostca agents and CLIs refuse to talk to this server; serve the server.pem that "
        "'hostca-server init' wrote",
        options_.tls_cert_file, kServerCertificateMarker);
  }
  for (const auto& name : check.held_by_hosts) {
    spdlog::error(
        "the TLS certificate names {}, which a host holds: that host keeps it until an admin "
        "releases it (hostca-admin host release-name); it can never pass for this server",
        name);
  }
}

void CaServer::run_crl_schedule() {
  std::unique_lock<std::mutex> lock(schedule_mu_);
  while (!stopping_) {
    schedule_cv_.wait_for(lock, options_.crl_check_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      if (const int n = authority_->republish_due_crls(); n > 0) {
        spdlog::info("republished {} CRL shard(s) before their nextUpdate", n);
      }
      crl_cache_->refresh(std::nullopt);  // in case a notification was lost
    } catch (const std::exception& e) {
      spdlog::warn("scheduled CRL publication failed, will retry: {}", e.what());
    }
    lock.lock();
  }
}

void CaServer::stop_background() {
  {
    std::lock_guard<std::mutex> lock(schedule_mu_);
    stopping_ = true;
  }
  schedule_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (revocation_service_) revocation_service_->stop();
  revocations_.notify();
  if (listener_) listener_->stop();
  if (http_) http_->stop();
}

CaServer::~CaServer() {
  if (server_) {
    if (revocation_service_) revocation_service_->stop();
    revocations_.notify();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  stop_background();
}

void CaServer::shutdown(std::chrono::seconds grace) {
  revocation_service_->stop();
  revocations_.notify();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  stop_background();
}

}  // namespace hostca
