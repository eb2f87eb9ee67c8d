#include "server/http_endpoint.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <mutex>
#include <regex>

#include <botan/x509cert.h>

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

// What /ca.pem, /ca.crt, /ca-all.pem and /ca.json answer, built once per
// version of the CA's keys.
struct CaDocuments {
  std::shared_ptr<const CaKeyRing> ring;  // the version they were built from
  std::string pem, der, all_pem, json, etag;
};

std::string pem_certificate(const Bytes& der) {
  if (der.empty()) return "";
  return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end())).PEM_encode();
}

std::shared_ptr<const CaDocuments> build_ca_documents(const Authority& authority) {
  auto docs = std::make_shared<CaDocuments>();
  docs->ring = authority.ring();
  const CaCertificateView active = authority.ca_certificate();
  docs->pem = active.pem;
  docs->der.assign(active.der.begin(), active.der.end());
  nlohmann::json keys = nlohmann::json::array();
  std::string versions;
  docs->all_pem = active.pem;
  for (const auto& k : authority.announced_keys()) {
    if (k.certificate.generation != active.generation) docs->all_pem += k.certificate.pem;
    keys.push_back({{"generation", k.certificate.generation},
                    {"state", to_string(k.state)},
                    {"sha256_fingerprint", k.certificate.sha256_fingerprint},
                    {"spki_sha256", k.certificate.spki_sha256},
                    {"certificate_pem", k.certificate.pem},
                    {"new_with_old_pem", pem_certificate(k.new_with_old_der)},
                    {"old_with_new_pem", pem_certificate(k.old_with_new_der)},
                    {"previous_spki_sha256", k.previous_spki_sha256}});
    versions += k.certificate.sha256_fingerprint.substr(0, 16) + to_string(k.state);
  }
  docs->json = nlohmann::json{{"generation", active.generation},
                              {"sha256_fingerprint", active.sha256_fingerprint},
                              {"spki_sha256", active.spki_sha256},
                              {"certificate_pem", active.pem},
                              {"ca_keys", keys}}
                   .dump(2) +
               "\n";
  docs->etag = "\"" + std::to_string(std::hash<std::string>{}(versions)) + "\"";
  return docs;
}

// The documents of the authority's keys as they are now.
class CaDocumentCache {
 public:
  explicit CaDocumentCache(const Authority& authority) : authority_(authority) {}
  std::shared_ptr<const CaDocuments> get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!docs_ || docs_->ring != authority_.ring()) docs_ = build_ca_documents(authority_);
    return docs_;
  }

 private:
  const Authority& authority_;
  std::mutex mu_;
  std::shared_ptr<const CaDocuments> docs_;
};

void send_crl(const httplib::Request& req, httplib::Response& res,
              const std::shared_ptr<const CachedCrl>& crl, const char* missing) {
  if (!crl) {
    res.status = 404;
    res.set_content(missing, "text/plain");
    return;
  }
  // CRLs change with every revocation: clients revalidate, cheaply (304).
  send_cacheable(req, res, crl->etag, crl->last_modified, "public, max-age=0, must-revalidate",
                 crl->der, "application/pkix-crl");
}

// The generation in a /crl/g<k>/ path, or 0 (no key has it) when out of range.
int generation_in(const std::string& text) { return text.size() > 6 ? 0 : std::stoi(text); }

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

void HttpEndpoint::serve(const Authority& authority, const CrlCache& crls,
                         Observability& observability) {
  auto ca = std::make_shared<CaDocumentCache>(authority);
  // The CA certificate changes only with a rollover's activation.
  const std::string cache_ca = "public, max-age=300";
  server_->Get("/ca.pem", [=](const httplib::Request& req, httplib::Response& res) {
    const auto docs = ca->get();
    send_cacheable(req, res, docs->etag, "", cache_ca, docs->pem, "application/x-pem-file");
  });
  server_->Get("/ca.crt", [=](const httplib::Request& req, httplib::Response& res) {
    const auto docs = ca->get();
    send_cacheable(req, res, docs->etag, "", cache_ca, docs->der, "application/pkix-cert");
  });
  server_->Get("/ca-all.pem", [=](const httplib::Request& req, httplib::Response& res) {
    const auto docs = ca->get();
    send_cacheable(req, res, docs->etag, "", cache_ca, docs->all_pem, "application/x-pem-file");
  });
  server_->Get("/ca.json", [=](const httplib::Request& req, httplib::Response& res) {
    const auto docs = ca->get();
    send_cacheable(req, res, docs->etag, "", cache_ca, docs->json, "application/json");
  });
  const CrlCache* cache = &crls;
  server_->Get(R"(/crl/(\d{1,5})\.crl)", [=](const httplib::Request& req, httplib::Response& res) {
    send_crl(req, res, cache->shard(1, std::stoi(req.matches[1])), "no such CRL shard\n");
  });
  server_->Get("/crl/ca.crl", [=](const httplib::Request& req, httplib::Response& res) {
    send_crl(req, res, cache->ca_scope(1), "the CA scope CRL is not published yet\n");
  });
  server_->Get(R"(/crl/g(\d{1,9})/(\d{1,5})\.crl)", [=](const httplib::Request& req,
                                                        httplib::Response& res) {
    send_crl(req, res, cache->shard(generation_in(req.matches[1]), std::stoi(req.matches[2])),
             "no such CRL: the CA key or the shard is unknown, or publishes no "
             "more\n");
  });
  server_->Get(R"(/crl/g(\d{1,9})/ca\.crl)", [=](const httplib::Request& req,
                                                 httplib::Response& res) {
    send_crl(req, res, cache->ca_scope(generation_in(req.matches[1])),
             "no such CRL: the CA key is unknown, publishes no more, or has published none yet\n");
  });
  server_->Get("/crl/all.pem", [=](const httplib::Request& req, httplib::Response& res) {
    const auto bundle = cache->bundle();
    send_cacheable(req, res, bundle->etag, "", "public, max-age=0, must-revalidate", bundle->pem,
                   "application/x-pem-file");
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
