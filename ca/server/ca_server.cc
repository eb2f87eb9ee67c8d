#include "server/ca_server.h"

#include <fstream>

#include <botan/data_src.h>
#include <botan/pkcs8.h>
#include <botan/x509cert.h>
#include <algorithm>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "domain/bootstrap.h"
#include "domain/server_tls.h"
#include "service/admin_service.h"
#include "service/host_service.h"
#include "service/revocation_feed.h"
#include "service/revocation_service.h"

namespace hostca {

namespace {
// More calls at once than the cores can sign for only share them: every
// call then finishes late, and the slowest very late (p99 at 64 clients on
// two cores: 170-190 ms with no limit, 80 ms with 8; docs/benchmarks.md).
std::size_t concurrent_issuance(int configured) {
  if (configured > 0) return static_cast<std::size_t>(configured);
  return 4 * std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

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

namespace {

// Says, in one line, that an address cannot be listened on; before gRPC
// tries it (gRPC would log lines of its own and give no reason).
void require_free_port(const std::string& address, const std::string& setting) {
  const auto [host, port] = split_host_port(address, setting);
  if (port == 0) return;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), std::to_string(port).c_str(), &hints,
                  &found) != 0 ||
      found == nullptr) {
    throw invalid_argument(setting + " '" + address + "': cannot resolve '" + host + "'");
  }
  std::string failure;
  for (addrinfo* a = found; a != nullptr && failure.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // Only what is certain: the port is taken, or not ours to take. Any
    // other trouble (an address family this host lacks) is gRPC's to judge.
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 && (errno == EADDRINUSE || errno == EACCES)) {
      failure = std::strerror(errno);
    }
    close(fd);
  }
  freeaddrinfo(found);
  if (!failure.empty()) {
    throw failed_precondition("cannot listen on " + address + " (" + setting + "): " + failure +
                              ": stop what uses the port or choose another");
  }
}

// gRPC would refuse a bad pair with lines of its own and no file name.
void require_tls_pair(const std::string& cert_pem, const std::string& cert_file,
                      const std::string& key_pem, const std::string& key_file) {
  std::unique_ptr<Botan::Public_Key> cert_key;
  try {
    Botan::DataSource_Memory source(cert_pem);
    const Botan::X509_Certificate cert(source);
    cert_key.reset(cert.subject_public_key());
  } catch (const std::exception&) {
    throw failed_precondition("the TLS certificate (tls.cert) " + cert_file +
                              " is not a PEM certificate: give the server.pem that init wrote");
  }
  std::unique_ptr<Botan::Private_Key> key;
  try {
    Botan::DataSource_Memory source(key_pem);
    key = Botan::PKCS8::load_key(source);
  } catch (const std::exception&) {
    key.reset();
  }
  if (!key) {
    throw failed_precondition("the TLS key (tls.key) " + key_file +
                              " is not an unencrypted PEM private key: give the server.key that "
                              "init wrote");
  }
  if (key->public_key_bits() != cert_key->public_key_bits()) {
    throw failed_precondition("the TLS key (tls.key) " + key_file +
                              " is not the key of the TLS certificate (tls.cert) " + cert_file +
                              ": give the pair init wrote");
  }
}

}  // namespace

void ServeOptions::validate() const {
  split_host_port(grpc_listen, "server.listen");
  split_host_port(http_listen, "server.http_listen");
  if (!admin_listen.empty()) {
    split_host_port(admin_listen, "server.admin_listen");
    if (insecure_plaintext) {
      throw invalid_argument(
          "server.admin_listen: the admin API is served over TLS only; it cannot be served with "
          "--insecure-plaintext");
    }
  }
  if (!console_dir.empty() && !std::ifstream(console_dir + "/index.html")) {
    throw invalid_argument("server.console_dir: " + console_dir +
                           " holds no index.html to serve (give the console/ folder of the "
                           "source tree, or leave it unset for the pages built in)");
  }
  service::TrustedProxies::parse(trusted_proxies);
  // The CRL base URL is the CA's (checked against it at start); the rest of
  // the profile is this server's.
  CertificateProfile checked_profile = profile;
  if (checked_profile.crl_base_url.empty()) checked_profile.crl_base_url = "http://ca.invalid/crl";
  checked_profile.validate();
  // The shard count comes from the database; any valid one will do here.
  AuthorityConfig checked = authority;
  checked.crl_shards = std::max(checked.crl_shards, 1);
  checked.validate();
}

CaServer::CaServer(ServeOptions options)
    : options_(std::move(options)), clock_(options_.drill_clock_offset) {
  options_.validate();
  if (options_.drill_clock_offset != Duration::zero()) {
    spdlog::warn("HOSTCA_DRILL_CLOCK_OFFSET: this server's clock is set off by {} us, for a drill",
                 options_.drill_clock_offset.count());
  }
  // Files first, before any thread or connection: a wrong path is one line.
  std::string tls_cert_pem;
  if (!options_.insecure_plaintext) {
    tls_cert_pem = read_file(options_.tls_cert_file, "the TLS certificate (tls.cert)");
    const std::string tls_key_pem = read_file(options_.tls_key_file, "the TLS key (tls.key)");
    require_tls_pair(tls_cert_pem, options_.tls_cert_file, tls_key_pem, options_.tls_key_file);
  }
  proxies_ = service::TrustedProxies::parse(options_.trusted_proxies);
  require_free_port(options_.http_listen, "server.http_listen");
  require_free_port(options_.grpc_listen, "server.listen");
  if (!options_.admin_listen.empty())
    require_free_port(options_.admin_listen, "server.admin_listen");
  try {
    start(tls_cert_pem);
  } catch (...) {
    // Whatever had started stops before the error leaves: never a thread
    // left joinable (std::terminate) on a refused start.
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    stop_background();
    throw;
  }
}

void CaServer::start(const std::string& tls_cert_pem) {
  store_ = std::make_unique<store::PgStore>(options_.database);
  const OpenedCa ca = open_ca(*store_, options_.secrets, rng_);

  const auto [http_host, http_port] = split_host_port(options_.http_listen, "server.http_listen");
  // One CRL URL for the CA, whatever server issues: the one recorded at init.
  CertificateProfile profile = options_.profile;
  profile.crl_base_url = crl_base_url_to_serve(ca, options_.profile.crl_base_url);
  AuthorityConfig config = options_.authority;
  config.crl_shards = ca.crl_shards;
  profile_ = profile;
  authority_ = std::make_unique<Authority>(*store_, ca.ring, profile, clock_, rng_, config);
  // The clock first: a server out of step with the database issues nothing.
  authority_->check_clock();
  if (!options_.insecure_plaintext) check_tls_certificate(tls_cert_pem);

  http_ = std::make_unique<HttpEndpoint>(http_host, http_port, options_.http_threads);

  // CRLs: publish what is due (a new CA has none yet), load them, keep them
  // fresh from our own publications and from every other server's NOTIFY.
  crl_cache_ = std::make_unique<CrlCache>(*authority_);
  observability_ = std::make_unique<Observability>(*store_, *authority_);
  authority_->on_committed(
      [this](const OperationOutcome& outcome) { observability_->committed(outcome); });
  authority_->on_crl_published([this](const PublishedCrl& crl) {
    observability_->crl_published(crl);
    store::CrlShardRow row;
    row.ca_generation = crl.ca_generation;
    row.shard = crl.shard;
    row.crl_number = crl.crl_number;
    row.this_update = crl.this_update;
    row.next_update = crl.next_update;
    row.der = crl.der;
    crl_cache_->offer(row);
  });
  if (!authority_->clock_problem()) authority_->republish_due_crls();
  crl_cache_->refresh(std::nullopt);
  crl_refresh_ = std::make_unique<DeferredCrlRefresh>(
      [this](int generation, int shard, std::int64_t number) {
        return crl_cache_->holds(generation, shard, number);
      },
      [this](int generation, int shard) { crl_cache_->refresh(std::make_pair(generation, shard)); },
      std::chrono::milliseconds(20));
  feed_ = std::make_unique<service::RevocationFeed>(*authority_, revocations_);
  feed_->start();
  listener_ = std::make_unique<store::PgListener>(
      options_.database.conninfo,
      std::vector<std::string>{"hostca_crl", "hostca_revocation", "hostca_ca"},
      [this](const std::string& channel, const std::string& payload) {
        if (channel == "hostca_revocation") {
          revocations_.notify();
          return;
        }
        if (channel == "hostca_ca") {
          follow_ca_keys();
          return;
        }
        try {
          // "generation:shard:crl_number": our own publications are
          // already cached.
          const auto first = payload.find(':');
          const auto second = payload.find(':', first + 1);
          if (first == std::string::npos || second == std::string::npos) {
            throw std::invalid_argument("not generation:shard:crl_number");
          }
          const int generation = std::stoi(payload.substr(0, first));
          const int shard = std::stoi(payload.substr(first + 1, second - first - 1));
          crl_refresh_->notified(generation, shard, std::stoll(payload.substr(second + 1)));
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
  upkeep_ = std::thread([this] { run_upkeep(); });
  http_->serve(*authority_, *crl_cache_, *observability_);
  warn_if_ca_expiring();

  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options_.insecure_plaintext) {
    spdlog::warn("serving gRPC WITHOUT TLS (--insecure-plaintext): for development only");
    creds = grpc::InsecureServerCredentials();
  } else {
    // Client certificates are asked for (renewal uses them) but not required.
    served_leaf_pem_ = tls_cert_pem;
    served_tls_ = std::make_unique<ServedTls>(options_.tls_key_file, tls_cert_pem);
    {
      std::lock_guard<std::mutex> lock(keys_mu_);
      update_served_tls();
    }
    creds = served_tls_->credentials();
    if (!options_.admin_listen.empty()) {
      // The chain as it is now: a later rollover's new chain is presented
      // on gRPC at once and here after a restart.
      const auto [admin_host, admin_port] =
          split_host_port(options_.admin_listen, "server.admin_listen");
      admin_ = std::make_unique<AdminEndpoint>(admin_host, admin_port, served_tls_->chain_file(),
                                               options_.tls_key_file);
      admin_->serve(*authority_, proxies_,
                    options_.console_dir.empty()
                        ? std::nullopt
                        : std::optional<std::string>(options_.console_dir));
      spdlog::info(
          "hostca serving the admin API on https://{}:{}/api/v1 and the console on "
          "https://{}:{}/console/",
          admin_host, admin_->port(), admin_host, admin_->port());
    }
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
  services_.push_back(std::make_unique<service::HostServiceImpl>(
      *authority_, proxies_, concurrent_issuance(options_.concurrent_issuance)));
  services_.push_back(std::make_unique<service::AdminServiceImpl>(*authority_, proxies_));
  auto revocation = std::make_unique<service::RevocationServiceImpl>(
      *authority_, *feed_, options_.max_revocation_streams);
  revocation_service_ = revocation.get();
  services_.push_back(std::move(revocation));
  for (auto& s : services_) builder.RegisterService(s.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    throw failed_precondition("cannot listen for gRPC on " + options_.grpc_listen +
                              " (server.listen): choose another address or port");
  }
  spdlog::info(
      "hostca serving gRPC on port {} ({}) and HTTP on {}:{}; CA SHA-256 {}; {} CRL shards; CRL "
      "base URL {}",
      grpc_port_, options_.insecure_plaintext ? "plaintext" : "TLS", http_host, http_->port(),
      authority_->ca_certificate().sha256_fingerprint, ca.crl_shards, profile.crl_base_url);
}

void CaServer::check_tls_certificate(const std::string& tls_cert_pem) {
  const ServerTlsCheck check = reserve_server_names(*store_, tls_cert_pem, clock_);
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

void CaServer::follow_ca_keys() {
  std::lock_guard<std::mutex> lock(keys_mu_);
  std::vector<store::CaKeyRow> rows;
  const auto current = authority_->ring();
  try {
    rows = store_->transact([](store::Tx& tx) { return tx.list_ca_keys(); });
    if (ca_keys_version(rows) == current->version()) return;
    auto ring = std::make_shared<const CaKeyRing>(
        CaKeyRing::open(rows, options_.secrets, rng_, current.get()));
    const int before = current->active().generation;
    authority_->reload(ring);
    keys_failure_.clear();
    observability_->set_keys_problem("");
    spdlog::info("the CA's keys changed ({}): key {} issues{}", ring->version(),
                 ring->active().generation,
                 before != ring->active().generation ? ", from now on" : "");
    // A new key's CRLs are due at once: publish them now rather than at the
    // next scheduled check (whichever server gets there first). The keys
    // are followed even if that fails (a token not answering): the
    // scheduled check publishes them then.
    try {
      if (!authority_->clock_problem()) authority_->republish_due_crls();
    } catch (const std::exception& e) {
      spdlog::warn("the new keys' CRLs were not published yet, will retry: {}", e.what());
    }
    crl_cache_->refresh(std::nullopt);
    if (served_tls_) update_served_tls();
  } catch (const std::exception& e) {
    if (keys_failure_ != e.what()) {
      keys_failure_ = e.what();
      spdlog::error("cannot follow the CA's keys, still using the ones held: {}", e.what());
    }
    // Until a rollover activates a key this server cannot open, it issues
    // with the keys it holds; after, it can issue nothing (the database
    // refuses every other key) and says so on /readyz, so that a load
    // balancer sends the calls to the servers that can.
    bool behind = false;
    for (const auto& r : rows) {
      if (r.state == "active" && r.generation != current->active().generation) behind = true;
    }
    observability_->set_keys_problem(
        behind ? "cannot open the CA key that now issues: " + std::string(e.what()) : "");
  }
}

void CaServer::update_served_tls() {
  try {
    const auto next =
        next_served_chain(*store_, *authority_->ring(), served_leaf_pem_, profile_, clock_, rng_);
    if (!next) return;
    served_tls_->write(next->chain_pem);
    served_leaf_pem_ = next->leaf_pem;
    spdlog::info(
        "serving a TLS certificate from CA key {} (serial {}){}; tls.cert {} stays as it is",
        next->ca_generation, next->issued_serial,
        next->chain_pem.size() > next->leaf_pem.size() ? " with the key's newWithOld link" : "",
        options_.tls_cert_file);
  } catch (const std::exception& e) {
    spdlog::error(
        "cannot issue this server a TLS certificate from the active CA key, still "
        "serving the one held: {}",
        e.what());
  }
}

void CaServer::warn_if_ca_expiring() {
  const std::string warning = authority_->expiry_warning(clock_.now());
  if (!warning.empty()) spdlog::warn("{}", warning);
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

void CaServer::run_upkeep() {
  auto next_clock_check = std::chrono::steady_clock::now() + options_.clock_check_interval;
  auto next_daily = std::chrono::steady_clock::now() + std::chrono::hours(24);
  std::unique_lock<std::mutex> lock(schedule_mu_);
  while (!stopping_) {
    schedule_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      authority_->flush_refusals(false);
      if (std::chrono::steady_clock::now() >= next_clock_check) {
        next_clock_check = std::chrono::steady_clock::now() + options_.clock_check_interval;
        authority_->check_clock();
      }
      // Another server's rollover step reaches this one within a second,
      // even when its NOTIFY was lost.
      follow_ca_keys();
      if (std::chrono::steady_clock::now() >= next_daily) {
        next_daily = std::chrono::steady_clock::now() + std::chrono::hours(24);
        warn_if_ca_expiring();
        if (served_tls_) {
          std::lock_guard<std::mutex> keys_lock(keys_mu_);
          update_served_tls();
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("upkeep (refusal audit, clock check) failed, will retry: {}", e.what());
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
  if (upkeep_.joinable()) upkeep_.join();
  if (revocation_service_) revocation_service_->stop();
  revocations_.notify();
  if (feed_) feed_->stop();
  if (listener_) listener_->stop();
  crl_refresh_.reset();
  if (http_) http_->stop();
  if (admin_) admin_->stop();
  if (authority_) {
    try {
      authority_->flush_refusals(true);  // the windows still open, at shutdown
    } catch (const std::exception& e) {
      spdlog::warn("cannot write the last refusal audit rows: {}", e.what());
    }
  }
}

CaServer::~CaServer() {
  options_.secrets.wipe();
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
