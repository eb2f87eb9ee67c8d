// The plain HTTP port: what a party that trusts nothing yet may fetch (the
// CA certificate and its fingerprints; during a rollover every announced CA
// key with its links), the CRLs relying parties fetch (/crl/<n>.crl for the
// first CA key, /crl/g<k>/<n>.crl for key k, /crl/all.pem), the health and
// readiness checks and the Prometheus metrics.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "domain/authority.h"
#include "server/crl_cache.h"
#include "server/observability.h"

namespace httplib {
class Server;
}

namespace hostca {

class HttpEndpoint {
 public:
  // Binds at once (port 0 picks a free port), so the port is known before
  // the rest of the server is built; serve() starts answering. Each
  // keep-alive connection holds one of `threads` workers while it is open.
  HttpEndpoint(const std::string& host, int port, int threads = 64);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  // Registers the routes and serves on a thread of its own. `authority`,
  // `crls` and `observability` must outlive the endpoint. The CA documents
  // follow the authority's keys as they change.
  void serve(const Authority& authority, const CrlCache& crls, Observability& observability);
  int port() const { return port_; }
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace hostca
