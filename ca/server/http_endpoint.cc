#include "server/http_endpoint.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <regex>

#include "common/error.h"

namespace hostca {

namespace {

// Answers 304 when the client holds this version, else the body.
void send_cacheable(const httplib::Request& req, httplib::Response& res, const std::string& etag,
                    const std::string& last_modified, const std::string& cache_control,
                    const std::string& body, const char* type) {
  res.set_header("ETag", etag);
  if (!last_modified.empty()) res.set_header("Last-Modified", last_modified);
  res.set_header("Cache-Control", cache_control);
  const bool etag_matches = req.has_header("If-None-Match") &&
                            req.get_header_value("If-None-Match").find(etag) != std::string::npos;
  const bool date_matches = !req.has_header("If-None-Match") && !last_modified.empty() &&
                            req.get_header_value("If-Modified-Since") == last_modified;
  if (etag_matches || date_matches) {
    res.status = 304;
    return;
  }
  res.set_content(body, type);
}

}  // namespace

HttpEndpoint::HttpEndpoint(const std::string& host, int port, int threads)
    : server_(std::make_unique<httplib::Server>()) {
  if (threads < 1 || threads > 4096) {
    throw invalid_argument("HTTP threads must be between 1 and 4096");
  }
  // cpp-httplib serves a keep-alive connection on one worker until it
  // closes; its default pool (8 on two cores) left the ninth relying party
  // waiting seconds for a worker.
  const auto workers = static_cast<std::size_t>(threads);
  server_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  // Small answers (a 304, a short CRL) must not wait for Nagle's algorithm
  // and the peer's delayed ACK: that added 40 ms to every full GET.
  server_->set_tcp_nodelay(true);
  server_->set_read_timeout(std::chrono::seconds(10));
  server_->set_keep_alive_max_count(1000);
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    throw failed_precondition("cannot listen for HTTP on " + host + ":" + std::to_string(port));
  }
}

HttpEndpoint::~HttpEndpoint() { stop(); }

void HttpEndpoint::serve(const CaCertificateView& ca, const CrlCache& crls,
                         Observability& observability) {
  const std::string der(ca.der.begin(), ca.der.end());
  const std::string etag = "\"" + ca.sha256_fingerprint.substr(0, 32) + "\"";
  const std::string cache_ca = "public, max-age=3600";
  server_->Get("/ca.pem", [=](const httplib::Request& req, httplib::Response& res) {
    send_cacheable(req, res, etag, "", cache_ca, ca.pem, "application/x-pem-file");
  });
  server_->Get("/ca.crt", [=](const httplib::Request& req, httplib::Response& res) {
    send_cacheable(req, res, etag, "", cache_ca, der, "application/pkix-cert");
  });
  const std::string fingerprints = nlohmann::json{{"sha256_fingerprint", ca.sha256_fingerprint},
                                                  {"spki_sha256", ca.spki_sha256},
                                                  {"certificate_pem", ca.pem}}
                                       .dump(2) +
                                   "\n";
  server_->Get("/ca.json", [=](const httplib::Request& req, httplib::Response& res) {
    send_cacheable(req, res, etag, "", cache_ca, fingerprints, "application/json");
  });
  // CRLs change with every revocation: clients revalidate, cheaply (304).
  const std::string cache_crl = "public, max-age=0, must-revalidate";
  const CrlCache* cache = &crls;
  server_->Get(R"(/crl/(\d{1,5})\.crl)", [=](const httplib::Request& req, httplib::Response& res) {
    const auto crl = cache->shard(std::stoi(req.matches[1]));
    if (!crl) {
      res.status = 404;
      res.set_content("no such CRL shard\n", "text/plain");
      return;
    }
    send_cacheable(req, res, crl->etag, crl->last_modified, cache_crl, crl->der,
                   "application/pkix-crl");
  });
  server_->Get("/crl/ca.crl", [=](const httplib::Request& req, httplib::Response& res) {
    const auto crl = cache->ca_scope();
    if (!crl) {
      res.status = 404;
      res.set_content("the CA scope CRL is not published yet\n", "text/plain");
      return;
    }
    send_cacheable(req, res, crl->etag, crl->last_modified, cache_crl, crl->der,
                   "application/pkix-crl");
  });
  server_->Get("/crl/all.pem", [=](const httplib::Request& req, httplib::Response& res) {
    const auto bundle = cache->bundle();
    send_cacheable(req, res, bundle->etag, "", cache_crl, bundle->pem, "application/x-pem-file");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  Observability* obs = &observability;
  server_->Get("/readyz", [obs](const httplib::Request&, httplib::Response& res) {
    const std::string reason = obs->not_ready_reason();
    res.set_header("Cache-Control", "no-store");
    if (!reason.empty()) {
      res.status = 503;
      res.set_content("not ready: " + reason + "\n", "text/plain");
      return;
    }
    res.set_content("ready\n", "text/plain");
  });
  server_->Get("/metrics", [obs](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(obs->render_metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void HttpEndpoint::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace hostca
