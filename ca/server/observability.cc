#include "server/observability.h"

#include <google/protobuf/descriptor.h>
#include <spdlog/spdlog.h>

#include <set>

#include "service/status.h"

namespace hostca {

namespace {

constexpr auto kReadyCacheFor = std::chrono::seconds(1);
constexpr auto kExpiringCacheFor = std::chrono::minutes(1);
constexpr auto kExpiringWithin = std::chrono::hours(24 * 30);

// Method names come from the registered services only, so a client cannot
// add label values by calling paths that do not exist.
std::set<std::string> known_methods() {
  std::set<std::string> out{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const char* name :
       {"hostca.v1.HostService", "hostca.v1.AdminService", "hostca.v1.RevocationService"}) {
    const auto* service = pool->FindServiceByName(name);
    if (!service) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      out.insert("/" + service->full_name() + "/" + service->method(i)->name());
    }
  }
  return out;
}

class CallMetrics final : public grpc::experimental::Interceptor {
 public:
  CallMetrics(MetricsRegistry& registry, std::string method)
      : registry_(registry), method_(std::move(method)), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (!recorded_ && methods->QueryInterceptionHookPoint(
                          grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      recorded_ = true;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      const char* code = service::status_code_name(methods->GetSendStatus().error_code());
      registry_
          .counter("hostca_grpc_calls_total", "gRPC calls handled, by method and status code",
                   {{"method", method_}, {"code", code}})
          .add();
      registry_
          .histogram("hostca_grpc_call_duration_seconds", "gRPC call latency, by method",
                     latency_buckets(), {{"method", method_}})
          .observe(seconds);
    }
    methods->Proceed();
  }

 private:
  MetricsRegistry& registry_;
  const std::string method_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
};

class CallMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallMetricsFactory(MetricsRegistry& registry)
      : registry_(registry), known_(known_methods()) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    std::string name = method && known_.count(method) ? method : "other";
    // gRPC takes ownership of the interceptor (its API wants a raw pointer).
    return new CallMetrics(registry_, std::move(name));
  }

 private:
  MetricsRegistry& registry_;
  const std::set<std::string> known_;
};

}  // namespace

Observability::Observability(store::PgStore& store, Authority& authority)
    : store_(store),
      authority_(authority),
      issued_enroll_(registry_.counter("hostca_certificates_issued_total",
                                       "host certificates issued by this server, by kind",
                                       {{"kind", "enroll"}})),
      issued_renew_(registry_.counter("hostca_certificates_issued_total", "", {{"kind", "renew"}})),
      issued_reissue_(
          registry_.counter("hostca_certificates_issued_total", "", {{"kind", "reissue"}})),
      revoked_(registry_.counter("hostca_certificates_revoked_total",
                                 "certificates revoked by this server (revocations and reissues)")),
      tokens_used_(registry_.counter("hostca_tokens_used_total",
                                     "authorization and reissue tokens used at this server")),
      crl_publications_(registry_.counter("hostca_crl_publications_total",
                                          "CRLs this server published (any shard)")),
      crl_duration_(registry_.histogram("hostca_crl_publication_duration_seconds",
                                        "time to lock, read, sign and save one CRL shard",
                                        latency_buckets())) {
  const store::PgConnectionPool& pool = store_.pool();
  const std::string pool_help = "database connections: in use, open (idle or in use), pool size";
  registry_.gauge("hostca_db_pool_connections", pool_help, {{"state", "in_use"}},
                  [&pool] { return static_cast<double>(pool.in_use()); });
  registry_.gauge("hostca_db_pool_connections", pool_help, {{"state", "open"}},
                  [&pool] { return static_cast<double>(pool.open()); });
  registry_.gauge("hostca_db_pool_connections", pool_help, {{"state", "size"}},
                  [&pool] { return static_cast<double>(pool.size()); });
  registry_.gauge("hostca_certificates_expiring_within_30d",
                  "unrevoked host certificates whose notAfter is within 30 days (read at most "
                  "once a minute)",
                  {}, [this] { return expiring_.load(); });
  registry_.gauge("hostca_ca_certificate_seconds_left",
                  "seconds until the active CA certificate's notAfter (roll the key well before: "
                  "hostca-server ca rollover start)",
                  {}, [this] {
                    return std::chrono::duration<double>(authority_.ring()->active().not_after() -
                                                         authority_.clock().now())
                        .count();
                  });
  registry_.gauge("hostca_ca_key_generation", "the generation of the CA key that issues now", {},
                  [this] { return static_cast<double>(authority_.ring()->active().generation); });
}

std::string Observability::not_ready_reason() {
  std::lock_guard<std::mutex> lock(ready_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!ready_known_ || now - ready_checked_ >= kReadyCacheFor) {
    // The CA key is loaded: the server does not start without it.
    not_ready_reason_ = store_.ping() ? "" : "the database does not answer";
    // A server whose clock is out of step issues and publishes nothing.
    if (not_ready_reason_.empty()) {
      if (const auto problem = authority_.clock_problem()) not_ready_reason_ = *problem;
    }
    ready_checked_ = std::chrono::steady_clock::now();
    ready_known_ = true;
  }
  if (not_ready_reason_.empty() && !keys_problem_.empty()) return keys_problem_;
  return not_ready_reason_;
}

void Observability::set_keys_problem(std::string problem) {
  std::lock_guard<std::mutex> lock(ready_mu_);
  keys_problem_ = std::move(problem);
}

void Observability::refresh_expiring() {
  std::lock_guard<std::mutex> lock(expiring_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (expiring_known_ && now - expiring_checked_ < kExpiringCacheFor) return;
  expiring_checked_ = now;
  try {
    expiring_ = static_cast<double>(authority_.certificates_expiring_within(kExpiringWithin));
    expiring_known_ = true;
  } catch (const std::exception& e) {
    // The last value stays; the next scrape after a minute tries again.
    expiring_known_ = true;
    spdlog::warn("cannot count the certificates expiring within 30 days: {}", e.what());
  }
}

std::string Observability::render_metrics() {
  refresh_expiring();
  return registry_.render();
}

void Observability::crl_published(const PublishedCrl& crl) {
  crl_publications_.add();
  crl_duration_.observe(std::chrono::duration<double>(crl.elapsed).count());
}

void Observability::committed(const OperationOutcome& outcome) {
  if (outcome.issued) {
    switch (*outcome.issued) {
      case store::CertificateKind::kEnroll:
        issued_enroll_.add();
        break;
      case store::CertificateKind::kRenew:
        issued_renew_.add();
        break;
      case store::CertificateKind::kReissue:
        issued_reissue_.add();
        break;
      case store::CertificateKind::kServer:
        break;
    }
  }
  if (outcome.revoked > 0) revoked_.add(outcome.revoked);
  if (outcome.token_used) tokens_used_.add();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Observability::call_interceptor() {
  return std::make_unique<CallMetricsFactory>(registry_);
}

}  // namespace hostca
