// One running hostca server: the store, the opened CA, the authority, the
// gRPC services over TLS and the HTTP endpoint, built from checked options.
#pragma once

#include <memory>
#include <string>

#include <botan/system_rng.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/change_signal.h"
#include "common/clock.h"
#include "domain/authority.h"
#include "server/admin_endpoint.h"
#include "server/crl_cache.h"
#include "server/http_endpoint.h"
#include "server/observability.h"
#include "server/served_tls.h"
#include "service/client_address.h"
#include "store/pg_listener.h"
#include "store/pg_store.h"

namespace hostca {
namespace service {
class RevocationServiceImpl;
class RevocationFeed;
}  // namespace service

struct ServeOptions {
  store::PgStoreOptions database;
  // The passphrase and the PKCS#11 PIN, kept in memory while serving (like
  // the decrypted CA keys and token sessions they open), to open the keys
  // a rollover adds.
  CaKeySecrets secrets;
  std::string grpc_listen = "127.0.0.1:8443";  // host:port; port 0 picks one
  std::string http_listen = "127.0.0.1:8080";
  // HTTPS address of the admin JSON API (/api/v1); empty: not served.
  std::string admin_listen;
  // Console development: serve the console's pages from this folder
  // instead of the copy built in; empty: the built-in copy.
  std::string console_dir;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool insecure_plaintext = false;  // development only
  CertificateProfile profile;       // crl_base_url empty: the CA's (recorded at init)
  AuthorityConfig authority;        // crl_shards comes from the database
  // How often this server looks for shards due for republication.
  std::chrono::milliseconds crl_check_interval{30000};
  int max_message_bytes = 64 * 1024;
  int http_threads = 64;  // concurrent HTTP (keep-alive) connections served
  // Peers whose x-forwarded-for names the client ("10.0.0.0/8, ..."); empty: none.
  std::string trusted_proxies;
  int max_revocation_streams = 1000;  // concurrent WatchRevocations streams
  // Enrolments, renewals and reissues run at most this many at once, first
  // come first served (the others wait their turn); 0: four per core.
  int concurrent_issuance = 0;
  // How often the clock is compared with the database's.
  std::chrono::milliseconds clock_check_interval{60000};
  // Sets this server's clock off (drills only: the clock check must catch it).
  Duration drill_clock_offset{0};

  // Everything that can be checked without the database, the files or the
  // network: what `serve` refuses before it opens anything, and what
  // `config check` reports. Throws Error(kInvalidArgument) naming the setting.
  void validate() const;
};

class CaServer {
 public:
  // Opens everything and starts listening; throws Error naming what failed.
  explicit CaServer(ServeOptions options);
  ~CaServer();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_->port(); }
  // 0 when the admin API is not served.
  int admin_port() const { return admin_ ? admin_->port() : 0; }
  // The active CA key's certificate, as this server follows the keys.
  CaCertificateView ca() const { return authority_->ca_certificate(); }

  void wait() { server_->Wait(); }
  // Stops taking calls, ends revocation streams, lets calls in flight
  // finish until the deadline.
  void shutdown(std::chrono::seconds grace);

 private:
  void run_crl_schedule();
  void run_upkeep();
  // Reserves the DNS names of the served TLS certificate for the server, and
  // says so loudly if it lacks the server marker or a host holds one.
  void check_tls_certificate(const std::string& tls_cert_pem);
  void stop_background();
  void start(const std::string& tls_cert_pem);
  // Reloads the CA's keys when the database holds another version of them
  // (a rollover's step, on any server): the authority, the CRLs and the TLS
  // certificate follow. Called every second and on each 'hostca_ca' NOTIFY.
  void follow_ca_keys();
  // Presents a TLS certificate from the active key (or a fresh one when the
  // served one ages); with keys_mu_ held.
  void update_served_tls();
  // Logs the authority's expiry warning, if any.
  void warn_if_ca_expiring();

  ServeOptions options_;
  OffsetClock clock_;
  // The one source of randomness of this server (thread-safe): serials,
  // signatures, tokens and IDs.
  Botan::System_RNG rng_;
  std::unique_ptr<store::PgStore> store_;
  std::unique_ptr<Authority> authority_;
  std::unique_ptr<CrlCache> crl_cache_;
  // Fed by listener_; destroyed after it stops.
  std::unique_ptr<DeferredCrlRefresh> crl_refresh_;
  std::unique_ptr<Observability> observability_;
  ChangeSignal revocations_;
  service::TrustedProxies proxies_;
  std::unique_ptr<service::RevocationFeed> feed_;
  std::unique_ptr<store::PgListener> listener_;
  std::unique_ptr<HttpEndpoint> http_;
  std::unique_ptr<AdminEndpoint> admin_;
  // Serializes reloads of the CA's keys and of the TLS certificate.
  std::mutex keys_mu_;
  std::string keys_failure_;  // the last reload's failure, logged once
  CertificateProfile profile_;
  std::unique_ptr<ServedTls> served_tls_;
  std::string served_leaf_pem_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  service::RevocationServiceImpl* revocation_service_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;

  std::mutex schedule_mu_;
  std::condition_variable schedule_cv_;
  bool stopping_ = false;
  std::thread scheduler_;
  std::thread upkeep_;
};

// Splits "host:port"; throws Error(kInvalidArgument) naming `what`.
std::pair<std::string, int> split_host_port(const std::string& address, const std::string& what);

}  // namespace hostca
