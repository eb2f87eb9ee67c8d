// The plain HTTP port: what a party that trusts nothing yet may fetch (the
// CA certificate and its fingerprints) and the health check. CRLs join it
// with the revocation issue.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "domain/authority.h"

namespace httplib {
class Server;
}

namespace hostca {

class HttpEndpoint {
 public:
  // Binds at once (port 0 picks a free port); serves on a thread of its own.
  HttpEndpoint(const std::string& host, int port, CaCertificateView ca);
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  int port() const { return port_; }
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace hostca
