#include "server/http_endpoint.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace hostca {

HttpEndpoint::HttpEndpoint(const std::string& host, int port, CaCertificateView ca)
    : server_(std::make_unique<httplib::Server>()) {
  const std::string der(ca.der.begin(), ca.der.end());
  const std::string etag = "\"" + ca.sha256_fingerprint.substr(0, 32) + "\"";
  auto cacheable = [etag](const httplib::Request& req, httplib::Response& res,
                          const std::string& body, const char* type) {
    res.set_header("ETag", etag);
    res.set_header("Cache-Control", "public, max-age=3600");
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    res.set_content(body, type);
  };
  server_->Get("/ca.pem", [=](const httplib::Request& req, httplib::Response& res) {
    cacheable(req, res, ca.pem, "application/x-pem-file");
  });
  server_->Get("/ca.crt", [=](const httplib::Request& req, httplib::Response& res) {
    cacheable(req, res, der, "application/pkix-cert");
  });
  const std::string fingerprints = nlohmann::json{
      {"sha256_fingerprint", ca.sha256_fingerprint},
      {"spki_sha256", ca.spki_sha256},
      {"certificate_pem", ca.pem}}.dump(2);
  server_->Get("/ca.json", [=](const httplib::Request& req, httplib::Response& res) {
    cacheable(req, res, fingerprints + "\n", "application/json");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->set_read_timeout(std::chrono::seconds(10));
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    throw failed_precondition("cannot listen for HTTP on " + host + ":" + std::to_string(port));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

HttpEndpoint::~HttpEndpoint() { stop(); }

void HttpEndpoint::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace hostca
