// What a server tells its operators: readiness (/readyz) and the metrics
// (/metrics), fed by a gRPC interceptor (every call, by method and status)
// and by the authority's notifications after each commit. Counts are per
// server process, as Prometheus expects.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/support/server_interceptor.h>

#include "domain/authority.h"
#include "server/metrics.h"
#include "store/pg_store.h"

namespace hostca {

class Observability {
 public:
  // `store` and `authority` must outlive this object.
  Observability(store::PgStore& store, Authority& authority);
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  // Empty when this server can take calls, else a one-line reason. Asks the
  // database (one SELECT 1) at most once a second.
  std::string not_ready_reason();
  // Set while this server cannot open the CA key that now issues (a
  // rollover activated a key it lacks the secret or token for): it is not
  // ready until it can. Empty: no such problem.
  void set_keys_problem(std::string problem);
  // The metrics in Prometheus text format; reads the expiring-certificates
  // count from the database at most once a minute.
  std::string render_metrics();

  void crl_published(const PublishedCrl& crl);
  void committed(const OperationOutcome& outcome);

  // Counts and times every gRPC call; give it to the ServerBuilder.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> call_interceptor();

  MetricsRegistry& registry() { return registry_; }

 private:
  void refresh_expiring();

  store::PgStore& store_;
  Authority& authority_;
  MetricsRegistry registry_;
  Counter& issued_enroll_;
  Counter& issued_renew_;
  Counter& issued_reissue_;
  Counter& revoked_;
  Counter& tokens_used_;
  Counter& crl_publications_;
  Histogram& crl_duration_;

  std::mutex ready_mu_;
  std::chrono::steady_clock::time_point ready_checked_{};
  bool ready_known_ = false;
  std::string not_ready_reason_;
  std::string keys_problem_;  // under ready_mu_

  std::mutex expiring_mu_;
  std::chrono::steady_clock::time_point expiring_checked_{};
  bool expiring_known_ = false;
  std::atomic<double> expiring_{0};
};

}  // namespace hostca
