// The HTTPS port of the admin JSON API (/api/v1, service/admin_json): the
// server's own TLS certificate and key, loopback or wherever
// server.admin_listen says. Served only with TLS; off unless configured.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "domain/authority.h"
#include "service/admin_json.h"

namespace httplib {
class SSLServer;
}

namespace hostca {

class AdminEndpoint {
 public:
  // Loads the certificate chain and key and binds at once (port 0 picks a
  // free port); throws Error(kFailedPrecondition) naming what failed.
  AdminEndpoint(const std::string& host, int port, const std::string& chain_file,
                const std::string& key_file);
  ~AdminEndpoint();
  AdminEndpoint(const AdminEndpoint&) = delete;
  AdminEndpoint& operator=(const AdminEndpoint&) = delete;

  // Registers the routes (the JSON API and the console's pages) and serves
  // on a thread of its own; `authority` must outlive the endpoint. With
  // `console_folder` set the pages are read from that folder (development).
  void serve(Authority& authority, const service::TrustedProxies& proxies,
             std::optional<std::string> console_folder = std::nullopt);
  int port() const { return port_; }
  void stop();

 private:
  std::unique_ptr<httplib::SSLServer> server_;
  std::unique_ptr<service::AdminJsonApi> api_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace hostca
