#include "service/admin_json.h"

#include <botan/x509cert.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "service/admin_credential.h"
#include "service/convert.h"
#include "service/status.h"

namespace hostca::service {

namespace pb = google::protobuf;

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return 400;
    case ErrorKind::kUnauthenticated:
      return 401;
    case ErrorKind::kPermissionDenied:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kAlreadyExists:
    case ErrorKind::kFailedPrecondition:
      return 409;
    case ErrorKind::kResourceExhausted:
      return 429;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

namespace {

// Every answer: nothing in it may run, be framed, be sniffed into another
// type, or be kept by a cache or sent on as a referrer.
void set_security_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n",
                  "application/json");
}

void send_message(httplib::Response& res, const pb::Message& message, int status) {
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  const auto converted = pb::util::MessageToJsonString(message, &out, options);
  if (!converted.ok()) throw internal_error("cannot write the answer as JSON");
  res.status = status;
  res.set_content(out + "\n", "application/json");
}

template <typename Whole>
Whole parse_whole(const std::string& name, const std::string& text) {
  Whole value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    throw invalid_argument("query parameter " + name + " must be a whole number from " +
                           std::to_string(std::numeric_limits<Whole>::min()) + " to " +
                           std::to_string(std::numeric_limits<Whole>::max()));
  }
  return value;
}

bool is_timestamp(const pb::FieldDescriptor* f) {
  return f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
         f->message_type()->full_name() == "google.protobuf.Timestamp";
}

// What may be given in a query: a single string, number, flag or time.
bool fits_a_query(const pb::FieldDescriptor* f) {
  return !f->is_repeated() &&
         (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE || is_timestamp(f));
}

// The query's parameters into the request's fields of the same names;
// unknown names, repeated names and values of the wrong type are refused.
void parse_query(const httplib::Request& req, pb::Message* message) {
  const pb::Descriptor* d = message->GetDescriptor();
  const pb::Reflection* r = message->GetReflection();
  std::set<std::string> seen;
  for (const auto& [name, value] : req.params) {
    const pb::FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr || !fits_a_query(f)) {
      std::string known;
      for (int i = 0; i < d->field_count(); ++i) {
        if (!fits_a_query(d->field(i))) continue;
        known += (known.empty() ? "" : ", ") + d->field(i)->name();
      }
      throw invalid_argument("unknown query parameter " + name + "; this path takes " +
                             (known.empty() ? std::string("none") : known));
    }
    if (!seen.insert(name).second) throw invalid_argument("give query parameter " + name + " once");
    if (is_timestamp(f)) {
      google::protobuf::Timestamp t;
      if (!pb::util::TimeUtil::FromString(value, &t)) {
        throw invalid_argument("query parameter " + name +
                               " must be an RFC 3339 time, as 2026-12-03T10:00:00Z");
      }
      r->MutableMessage(message, f)->CopyFrom(t);
      continue;
    }
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(message, f, value);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(message, f, parse_whole<std::uint32_t>(name, value));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(message, f, parse_whole<std::uint64_t>(name, value));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(message, f, parse_whole<std::int32_t>(name, value));
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        if (value != "true" && value != "false") {
          throw invalid_argument("query parameter " + name + " must be true or false");
        }
        r->SetBool(message, f, value == "true");
        break;
      default:
        throw invalid_argument("query parameter " + name + " cannot be given in the query");
    }
  }
}

// A JSON object with the request's fields and nothing else.
void parse_body(const httplib::Request& req, pb::Message* message) {
  const std::string type = req.get_header_value("Content-Type");
  const std::string media = type.substr(0, type.find(';'));
  if (media.find_first_not_of(' ') == std::string::npos ||
      media.substr(0, media.find_last_not_of(' ') + 1) != "application/json") {
    throw invalid_argument("send the request body as JSON (Content-Type: application/json)");
  }
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos ||
      req.body[req.body.find_first_not_of(" \t\r\n")] != '{') {
    throw invalid_argument("the request body must be a JSON object");
  }
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = pb::util::JsonStringToMessage(req.body, message, options);
  if (!parsed.ok()) {
    const auto why = parsed.message();
    throw invalid_argument("the request body is not a " + message->GetDescriptor()->name() + ": " +
                           std::string(why.data(), why.size()));
  }
}

bool has_body(const std::string& method) { return method == "POST"; }

std::string rfc3339(TimePoint t) {
  google::protobuf::Timestamp ts;
  to_proto(t, &ts);
  return pb::util::TimeUtil::ToString(ts);
}

nlohmann::json session_json(const std::string& session_id, const std::string& key_id,
                            const std::string& csrf, TimePoint expires, TimePoint idle_expires) {
  return {{"session_id", session_id},
          {"key_id", key_id},
          {"csrf_token", csrf},
          {"expires_at", rfc3339(expires)},
          {"idle_expires_at", rfc3339(idle_expires)}};
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

std::string regex_of(const std::string& pattern) {
  const auto open = pattern.find('{');
  if (open == std::string::npos) return pattern;
  return pattern.substr(0, open) + "([^/]+)";
}

}  // namespace

AdminJsonApi::AdminJsonApi(Authority& authority, TrustedProxies proxies)
    : authority_(authority), proxies_(std::move(proxies)) {}

std::string AdminJsonApi::address_of(const httplib::Request& req) const {
  const std::string peer = req.remote_addr.find(':') != std::string::npos
                               ? "ipv6:[" + req.remote_addr + "]"
                               : "ipv4:" + req.remote_addr;
  std::vector<std::string> forwarded;
  if (!proxies_.empty()) {
    const auto range = req.headers.equal_range("X-Forwarded-For");
    for (auto it = range.first; it != range.second; ++it) forwarded.push_back(it->second);
  }
  return client_address(peer, forwarded, proxies_);
}

Actor AdminJsonApi::authenticate(const httplib::Request& req, const std::string& call) const {
  // An Authorization header (scripts) is judged alone: a browser never
  // sends one by itself, so it needs no anti-CSRF token. Without one, the
  // console's session cookie, and for anything but GET its anti-CSRF header.
  if (!req.has_header("Authorization")) {
    const std::string secret = session_cookie(req);
    if (!secret.empty()) {
      const std::string csrf = req.get_header_value(kCsrfHeader);
      return authority_
          .console_session(secret, req.method == "GET" ? nullptr : &csrf, address_of(req))
          .actor;
    }
  }
  AdminCredential credential = admin_credential(req.get_header_value("Authorization"));
  if (!req.has_header("Authorization")) {
    // A browser without a session, or a script without a key: say both ways in.
    credential.problem =
        "sign in first (POST /api/v1/session, or the console's sign-in page), or send the header "
        "'Authorization: Bearer <admin key>'";
  }
  return authority_.authenticate_admin(credential, address_of(req), call);
}

void AdminJsonApi::guarded(const std::string& call, const httplib::Request& req,
                           httplib::Response& res, const std::function<void()>& body) const {
  const auto start = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const Error& e) {
    send_error(res, http_status(e.kind()), status_code_name(to_status_code(e.kind())), e.what());
  } catch (const std::exception& e) {
    // The detail may name internals: it goes to the log only.
    spdlog::error("{} {}: unexpected failure: {}", req.method, req.path, e.what());
    send_error(res, 500, "INTERNAL",
               "an internal error stopped the call; nothing was changed (see the server log)");
  }
  set_security_headers(res);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // The method, the path (never the query, the body or the cookie: they may
  // name hosts or carry a secret) and the outcome.
  if (res.status < 400) {
    spdlog::info("api={} path={} peer={} status={} duration_ms={:.2f}", call, req.path,
                 req.remote_addr, res.status, ms);
  } else {
    spdlog::warn("api={} path={} peer={} status={} duration_ms={:.2f}", call, req.path,
                 req.remote_addr, res.status, ms);
  }
}

void AdminJsonApi::handle(const Route& route, const pb::Message& prototype,
                          const pb::Message& response_prototype, const Call& call,
                          const httplib::Request& req, httplib::Response& res) {
  guarded(route.call, req, res, [&] {
    // Who first: a caller without a key learns nothing of what it sent.
    const Actor actor = authenticate(req, route.call);
    std::unique_ptr<pb::Message> request(prototype.New());
    if (has_body(route.method)) {
      // The type first: cpp-httplib reads a form body into params too.
      parse_body(req, request.get());
      if (!req.params.empty()) throw invalid_argument("this path takes no query parameters");
    } else {
      parse_query(req, request.get());
    }
    if (!route.path_field.empty()) {
      const pb::FieldDescriptor* f = request->GetDescriptor()->FindFieldByName(route.path_field);
      request->GetReflection()->SetString(request.get(), f, req.matches[1].str());
    }
    std::unique_ptr<pb::Message> response(response_prototype.New());
    call(actor, *request, response.get());
    send_message(res, *response, route.ok_status);
  });
}

template <typename Request, typename Response, typename Fn>
void AdminJsonApi::add(httplib::Server& server, Route route, Fn fn) {
  route.request = Request::descriptor();
  route.response = Response::descriptor();
  routes_.push_back(route);
  Call call = [fn](const Actor& actor, const pb::Message& request, pb::Message* response) {
    fn(actor, static_cast<const Request&>(request), static_cast<Response*>(response));
  };
  auto handler = [this, route, call](const httplib::Request& req, httplib::Response& res) {
    handle(route, Request::default_instance(), Response::default_instance(), call, req, res);
  };
  const std::string pattern = regex_of(route.pattern);
  if (route.method == "GET") {
    server.Get(pattern, handler);
  } else if (route.method == "POST") {
    server.Post(pattern, handler);
  } else {
    server.Delete(pattern, handler);
  }
}

void AdminJsonApi::register_routes(httplib::Server& server) {
  Authority* a = &authority_;
  add<v1::GetCaStatusRequest, v1::GetCaStatusResponse>(
      server,
      route("GET", "/api/v1/ca", "GetCaStatus", "The CA keys, their rollover phase and CRLs"),
      [a](const Actor&, const auto&, auto* res) { to_proto(a->ca_status(), res); });
  add<v1::ListHostsRequest, v1::ListHostsResponse>(
      server, route("GET", "/api/v1/hosts", "ListHosts", "Hosts, by a part of their name"),
      [a](const Actor&, const auto& req, auto* res) {
        const HostPage page = a->list_hosts(from_proto(req));
        for (const auto& h : page.hosts) to_proto(h, res->add_hosts());
        res->set_next_page_token(page.next_page_token);
      });
  add<v1::GetHostRequest, v1::GetHostResponse>(
      server,
      route("GET", "/api/v1/hosts/{host_id}", "GetHost",
            "One host and every certificate it has had", "host_id"),
      [a](const Actor&, const auto& req, auto* res) {
        const HostDetails details = a->get_host(req.host_id());
        to_proto(details.host, res->mutable_host());
        for (const auto& c : details.certificates) to_proto(c, res->add_certificates());
      });
  add<v1::ListTokensRequest, v1::ListTokensResponse>(
      server, route("GET", "/api/v1/tokens", "ListTokens", "Authorization and reissue tokens"),
      [a](const Actor&, const auto& req, auto* res) {
        for (const auto& t : a->list_tokens(req.include_deleted())) to_proto(t, res->add_tokens());
      });
  add<v1::CreateAuthorizationTokenRequest, v1::CreateTokenResponse>(
      server,
      route("POST", "/api/v1/tokens", "CreateAuthorizationToken",
            "A new authorization token; its value is in this answer only", "", 201),
      [a](const Actor& actor, const auto& req, auto* res) {
        to_proto(a->create_authorization_token(actor, from_proto(req)), res);
      });
  add<v1::DeleteTokenRequest, v1::DeleteTokenResponse>(
      server,
      route("DELETE", "/api/v1/tokens/{token_id}", "DeleteToken",
            "Deletes a token: it is refused after", "token_id"),
      [a](const Actor& actor, const auto& req, auto*) { a->delete_token(actor, req.token_id()); });
  add<v1::CreateReissueTokenRequest, v1::CreateTokenResponse>(
      server,
      route("POST", "/api/v1/reissue-tokens", "CreateReissueToken",
            "A reissue token for one host; its value is in this answer only", "", 201),
      [a](const Actor& actor, const auto& req, auto* res) {
        to_proto(a->create_reissue_token(actor, from_proto(req)), res);
      });
  add<v1::RevokeCertificateRequest, v1::RevokeCertificateResponse>(
      server,
      route("POST", "/api/v1/revocations", "RevokeCertificate",
            "Revokes one certificate (serial_hex) or every certificate of a host (host_id)"),
      [a](const Actor& actor, const auto& req, auto* res) {
        for (const auto& serial : a->revoke(actor, from_proto(req))) {
          res->add_revoked_serials_hex(serial);
        }
      });
  add<v1::AllowAutoReissueRequest, v1::AllowAutoReissueResponse>(
      server,
      route("POST", "/api/v1/auto-reissue", "AllowAutoReissue",
            "Opens a window in which the host may reissue without a token"),
      [a](const Actor& actor, const auto& req, auto* res) {
        if (!req.has_valid_for()) {
          throw invalid_argument("give valid_for: how long the window stays open");
        }
        to_proto(
            a->allow_auto_reissue(actor, req.host_id(), from_proto(req.valid_for(), "valid_for")),
            res->mutable_until());
      });
  add<v1::ReleaseHostNameRequest, v1::ReleaseHostNameResponse>(
      server,
      route("POST", "/api/v1/name-releases", "ReleaseHostName",
            "Releases a host's name, so that another host may claim it"),
      [a](const Actor& actor, const auto& req, auto* res) {
        for (const auto& serial : a->release_host_name(actor, from_proto(req))) {
          res->add_revoked_serials_hex(serial);
        }
      });
  add<v1::AcknowledgeCertificateFailureRequest, v1::AcknowledgeCertificateFailureResponse>(
      server,
      route("POST", "/api/v1/failure-acknowledgements", "AcknowledgeCertificateFailure",
            "Clears a host's reported certificate failure, with a note for the audit log"),
      [a](const Actor& actor, const auto& req, auto*) {
        a->acknowledge_certificate_failure(actor, req.host_id(), req.note());
      });
  add<v1::ListAuditEventsRequest, v1::ListAuditEventsResponse>(
      server, route("GET", "/api/v1/audit", "ListAuditEvents", "The audit trail, oldest first"),
      [a](const Actor&, const auto& req, auto* res) {
        for (const auto& row : a->list_audit(from_proto(req))) {
          to_proto(row, res->add_events());
        }
      });
  add<v1::CreateAdminKeyRequest, v1::CreateAdminKeyResponse>(
      server,
      route("POST", "/api/v1/admin-keys", "CreateAdminKey",
            "A new admin key; its value is in this answer only", "", 201),
      [a](const Actor& actor, const auto& req, auto* res) {
        const CreatedAdminKey key = a->create_admin_key(actor, req.name());
        res->set_admin_key(key.key.reveal());
        res->set_key_id(key.key_id);
      });

  add<v1::GetDashboardRequest, v1::GetDashboardResponse>(
      server,
      route("GET", "/api/v1/dashboard", "GetDashboard",
            "Hosts by state, usable tokens, CRLs, CA keys and the last audit events"),
      [a](const Actor&, const auto&, auto* res) { to_proto(a->dashboard(), res); });
  add<v1::ListCrlShardsRequest, v1::ListCrlShardsResponse>(
      server,
      route("GET", "/api/v1/crl-shards", "ListCrlShards",
            "The CRLs of one CA key, in shard order, a page at a time"),
      [a](const Actor&, const auto& req, auto* res) {
        const CrlShardQuery q = from_proto(req);
        to_proto(a->crl_shard_page(q.ca_generation, q.after_shard, q.limit), res);
      });

  add_session_routes(server);
  add_audit_export(server);
  add_downloads(server);

  openapi_ = build_openapi();
  const std::string* doc = &openapi_;
  server.Get("/api/v1/openapi.json", [doc](const httplib::Request&, httplib::Response& res) {
    res.set_content(*doc, "application/json");
    set_security_headers(res);
  });

  server.set_payload_max_length(kMaxApiBodyBytes);
  // What no route answered, and what cpp-httplib refused before routing
  // (a body over the limit, a request it could not parse): a JSON error too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (res.body.empty()) {
          if (res.status == 413) {
            send_error(res, 400, "INVALID_ARGUMENT",
                       "the request body is larger than " +
                           std::to_string(kMaxApiBodyBytes / 1024) + " KiB");
          } else if (res.status == 404) {
            send_error(res, 404, "NOT_FOUND",
                       "no such path or method: " + req.method + " " + req.path +
                           " (GET /api/v1/openapi.json lists them)");
          } else {
            send_error(res, res.status, res.status < 500 ? "INVALID_ARGUMENT" : "INTERNAL",
                       "the request could not be read as HTTP");
          }
        }
        set_security_headers(res);
        return httplib::Server::HandlerResponse::Handled;
      }));
}

std::string AdminJsonApi::session_cookie(const httplib::Request& req) {
  const std::string prefix = std::string(kSessionCookie) + "=";
  const auto range = req.headers.equal_range("Cookie");
  for (auto it = range.first; it != range.second; ++it) {
    const std::string& header = it->second;
    std::size_t at = 0;
    while (at < header.size()) {
      const auto end = header.find(';', at);
      std::string part = header.substr(at, end == std::string::npos ? std::string::npos : end - at);
      part.erase(0, part.find_first_not_of(' '));
      if (part.compare(0, prefix.size(), prefix) == 0) return part.substr(prefix.size());
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  return "";
}

void AdminJsonApi::add_audit_export(httplib::Server& server) {
  // The audit trail as JSON lines, one AuditEvent per line, with the
  // filters of GET /api/v1/audit. At most kMaxExportEvents a call: past
  // that, X-Next-After-Sequence says where the next call starts.
  server.Get(kAuditExportPath, [this](const httplib::Request& req, httplib::Response& res) {
    guarded("ExportAuditEvents", req, res, [&] {
      authenticate(req, "ListAuditEvents");
      v1::ListAuditEventsRequest request;
      parse_query(req, &request);
      if (request.limit() != 0) {
        throw invalid_argument("the export takes no limit; it gives up to " +
                               std::to_string(kMaxExportEvents) + " events a call");
      }
      store::AuditFilter filter = from_proto(request);
      filter.limit = 1000;
      std::string body;
      std::size_t count = 0;
      bool more = false;
      pb::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      options.always_print_primitive_fields = true;
      for (;;) {
        const auto rows = authority_.list_audit(filter);
        for (const auto& row : rows) {
          if (count == kMaxExportEvents) {
            more = true;
            break;
          }
          v1::AuditEvent event;
          to_proto(row, &event);
          std::string line;
          if (!pb::util::MessageToJsonString(event, &line, options).ok()) {
            throw internal_error("cannot write an audit event as JSON");
          }
          body += line + "\n";
          filter.after_sequence = row.sequence;
          ++count;
        }
        if (more || rows.size() < filter.limit) break;
      }
      if (more) res.set_header("X-Next-After-Sequence", std::to_string(filter.after_sequence));
      res.status = 200;
      res.set_content(body, "application/x-ndjson");
    });
  });
}

void AdminJsonApi::add_downloads(httplib::Server& server) {
  // One CRL (DER), as the HTTP endpoint serves it, for the console's links:
  // the admin port may be the only one an admin's browser reaches.
  server.Get(R"(/api/v1/crls/g(\d{1,9})/(\d{1,5}|ca)\.crl)",
             [this](const httplib::Request& req, httplib::Response& res) {
               guarded("DownloadCrl", req, res, [&] {
                 authenticate(req, "DownloadCrl");
                 if (!req.params.empty()) {
                   throw invalid_argument("this path takes no query parameters");
                 }
                 const std::string gen_text = req.matches[1];
                 const std::string shard_text = req.matches[2];
                 if (gen_text.size() > 6) throw not_found("no CA key has that generation");
                 const int generation = std::stoi(gen_text);
                 std::vector<store::CrlShardRow> rows;
                 if (shard_text == "ca") {
                   for (auto& row : authority_.ca_scope_crls()) {
                     if (row.ca_generation == generation) rows.push_back(std::move(row));
                   }
                 } else {
                   rows = authority_.crls(std::stoi(shard_text), generation);
                 }
                 if (rows.empty() || rows.front().der.empty()) {
                   throw not_found("that CRL is not published (yet)");
                 }
                 const Bytes& der = rows.front().der;
                 res.status = 200;
                 res.set_content(std::string(der.begin(), der.end()), "application/pkix-crl");
                 res.set_header("Content-Disposition", "attachment; filename=\"hostca-g" +
                                                           gen_text + "-" + shard_text + ".crl\"");
               });
             });
  // Every CA certificate that is announced and its link certificates, PEM.
  server.Get(kCaPemPath, [this](const httplib::Request& req, httplib::Response& res) {
    guarded("DownloadCaCertificates", req, res, [&] {
      authenticate(req, "DownloadCaCertificates");
      if (!req.params.empty()) throw invalid_argument("this path takes no query parameters");
      std::string body;
      const auto pem_of = [](const Bytes& der) {
        return Botan::X509_Certificate(std::vector<std::uint8_t>(der.begin(), der.end()))
            .PEM_encode();
      };
      for (const auto& k : authority_.announced_keys()) {
        body += "# CA key " + std::to_string(k.certificate.generation) + " (" + to_string(k.state) +
                "), SHA-256 " + k.certificate.sha256_fingerprint + "\n" + k.certificate.pem;
        if (!k.new_with_old_der.empty()) {
          body += "# link: key " + std::to_string(k.certificate.generation) +
                  " signed by the key before it (NewWithOld), SHA-256 " +
                  to_hex(sha256(k.new_with_old_der)) + "\n" + pem_of(k.new_with_old_der);
        }
        if (!k.old_with_new_der.empty()) {
          body += "# link: the key before signed by key " +
                  std::to_string(k.certificate.generation) + " (OldWithNew), SHA-256 " +
                  to_hex(sha256(k.old_with_new_der)) + "\n" + pem_of(k.old_with_new_der);
        }
      }
      res.status = 200;
      res.set_content(body, "application/x-pem-file");
      res.set_header("Content-Disposition", "attachment; filename=\"hostca-ca.pem\"");
    });
  });
}

void AdminJsonApi::add_session_routes(httplib::Server& server) {
  // Sign in: {"admin_key": "hca_admin_..."} and nothing else.
  server.Post(kSessionPath, [this](const httplib::Request& req, httplib::Response& res) {
    guarded("SignIn", req, res, [&] {
      const std::string type = req.get_header_value("Content-Type");
      if (type.substr(0, type.find(';')) != "application/json") {
        throw invalid_argument("send the request body as JSON (Content-Type: application/json)");
      }
      if (!req.params.empty()) throw invalid_argument("this path takes no query parameters");
      const auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object()) throw invalid_argument("the request body must be a JSON object");
      for (const auto& [name, value] : body.items()) {
        if (name != "admin_key") {
          throw invalid_argument("the request body has an unknown field \"" + name +
                                 "\"; it takes admin_key");
        }
        if (!value.is_string()) throw invalid_argument("admin_key must be a string");
      }
      const StartedConsoleSession session =
          authority_.sign_in(body.value("admin_key", std::string()), address_of(req));
      const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(
                               session.expires_at - authority_.clock().now())
                               .count();
      res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + session.secret.reveal() +
                                       "; Path=/; Max-Age=" + std::to_string(max_age) +
                                       "; Secure; HttpOnly; SameSite=Strict");
      send_json(res,
                session_json(session.session_id, session.key_id, session.csrf_token,
                             session.expires_at, session.idle_expires_at),
                201);
    });
  });
  // Who am I: the session of the cookie, with its anti-CSRF token (a page
  // loaded again asks for it here).
  server.Get(kSessionPath, [this](const httplib::Request& req, httplib::Response& res) {
    guarded("GetSession", req, res, [&] {
      const std::string secret = session_cookie(req);
      if (secret.empty()) throw unauthenticated("no console session: sign in");
      const ConsoleSessionView s = authority_.console_session(secret, nullptr, address_of(req));
      send_json(res,
                session_json(s.session_id, s.key_id, s.csrf_token, s.expires_at, s.idle_expires_at),
                200);
    });
  });
  // Sign out: the session ends on every server; the cookie is cleared.
  server.Delete(kSessionPath, [this](const httplib::Request& req, httplib::Response& res) {
    guarded("SignOut", req, res, [&] {
      const std::string secret = session_cookie(req);
      if (secret.empty()) throw unauthenticated("no console session: sign in");
      authority_.sign_out(secret, req.get_header_value(kCsrfHeader), address_of(req));
      res.set_header("Set-Cookie", std::string(kSessionCookie) +
                                       "=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
      send_json(res, nlohmann::json::object(), 200);
    });
  });
}

namespace {

// The JSON Schema of a field in protobuf's JSON mapping.
nlohmann::json schema_of(const pb::FieldDescriptor* f) {
  nlohmann::json s;
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      s = f->type() == pb::FieldDescriptor::TYPE_BYTES
              ? nlohmann::json{{"type", "string"}, {"format", "byte"}}
              : nlohmann::json{{"type", "string"}};
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      s = {{"type", "integer"}, {"minimum", 0}, {"maximum", 4294967295u}};
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      s = {{"type", "integer"}};
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
    case pb::FieldDescriptor::CPPTYPE_INT64:
      // Protobuf's JSON mapping writes 64-bit integers as strings.
      s = {{"type", "string"}, {"pattern", "^-?[0-9]+$"}};
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      s = {{"type", "boolean"}};
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string name = f->message_type()->full_name();
      if (name == "google.protobuf.Timestamp") {
        s = {{"type", "string"}, {"format", "date-time"}};
      } else if (name == "google.protobuf.Duration") {
        s = {{"type", "string"},
             {"pattern", "^[0-9]+(\\.[0-9]+)?s$"},
             {"description", "seconds, as \"3600s\""}};
      } else {
        s = {{"$ref", "#/components/schemas/" + f->message_type()->name()}};
      }
      break;
    }
    default:
      s = {{"type", "number"}};
  }
  if (f->is_repeated()) return {{"type", "array"}, {"items", s}};
  return s;
}

void add_schema(const pb::Descriptor* d, nlohmann::json& schemas) {
  if (schemas.contains(d->name())) return;
  nlohmann::json props = nlohmann::json::object();
  schemas[d->name()] = nullptr;  // placeholder against cycles
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    props[f->name()] = schema_of(f);
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
        f->message_type()->file()->package() == "hostca.v1") {
      add_schema(f->message_type(), schemas);
    }
  }
  schemas[d->name()] = {{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
}

}  // namespace

std::string AdminJsonApi::build_openapi() const {
  nlohmann::json schemas = nlohmann::json::object();
  schemas["Error"] = {{"type", "object"},
                      {"properties",
                       {{"error",
                         {{"type", "object"},
                          {"properties",
                           {{"code", {{"type", "string"}, {"description", "the gRPC status name"}}},
                            {"message", {{"type", "string"}}}}}}}}}};
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& r : routes_) {
    add_schema(r.request, schemas);
    add_schema(r.response, schemas);
    nlohmann::json op = {
        {"operationId", r.call},
        {"summary", r.summary},
        {"security", nlohmann::json::array(
                         {nlohmann::json::object({{"adminKey", nlohmann::json::array()}}),
                          nlohmann::json::object({{"sessionCookie", nlohmann::json::array()}})})},
        {"responses",
         {{std::to_string(r.ok_status),
           {{"description", "OK"},
            {"content",
             {{"application/json",
               {{"schema", {{"$ref", "#/components/schemas/" + r.response->name()}}}}}}}}},
          {"default",
           {{"description", "An error: 400, 401, 403, 404, 409, 429, 500 or 503"},
            {"content",
             {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}}};
    nlohmann::json params = nlohmann::json::array();
    if (!r.path_field.empty()) {
      params.push_back({{"name", r.path_field},
                        {"in", "path"},
                        {"required", true},
                        {"schema", {{"type", "string"}}}});
    }
    if (r.method == "POST") {
      op["requestBody"] = {
          {"required", true},
          {"content",
           {{"application/json",
             {{"schema", {{"$ref", "#/components/schemas/" + r.request->name()}}}}}}}};
    } else {
      for (int i = 0; i < r.request->field_count(); ++i) {
        const pb::FieldDescriptor* f = r.request->field(i);
        if (f->name() == r.path_field) continue;
        params.push_back(
            {{"name", f->name()}, {"in", "query"}, {"required", false}, {"schema", schema_of(f)}});
      }
    }
    if (!params.empty()) op["parameters"] = params;
    std::string method = r.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    paths[r.pattern][method] = op;
  }
  // The console's session, which is HTTP's own (no RPC).
  schemas["Empty"] = {{"type", "object"}, {"additionalProperties", false}};
  schemas["SignInRequest"] = {{"type", "object"},
                              {"properties", {{"admin_key", {{"type", "string"}}}}},
                              {"required", {"admin_key"}},
                              {"additionalProperties", false}};
  schemas["ConsoleSession"] = {
      {"type", "object"},
      {"properties",
       {{"session_id", {{"type", "string"}}},
        {"key_id", {{"type", "string"}}},
        {"csrf_token",
         {{"type", "string"},
          {"description", "send it as X-CSRF-Token with every request that is not a GET"}}},
        {"expires_at", {{"type", "string"}, {"format", "date-time"}}},
        {"idle_expires_at", {{"type", "string"}, {"format", "date-time"}}}}}};
  const auto session_answer = [](int status, const char* schema) {
    return nlohmann::json{
        {std::to_string(status),
         {{"description", "OK"},
          {"content",
           {{"application/json",
             {{"schema", {{"$ref", std::string("#/components/schemas/") + schema}}}}}}}}},
        {"default",
         {{"description", "An error"},
          {"content",
           {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}};
  };
  nlohmann::json export_params = nlohmann::json::array();
  for (int i = 0; i < v1::ListAuditEventsRequest::descriptor()->field_count(); ++i) {
    const pb::FieldDescriptor* f = v1::ListAuditEventsRequest::descriptor()->field(i);
    if (f->name() == "limit") continue;
    export_params.push_back(
        {{"name", f->name()}, {"in", "query"}, {"required", false}, {"schema", schema_of(f)}});
  }
  paths[kAuditExportPath]["get"] = {
      {"operationId", "ExportAuditEvents"},
      {"summary",
       "The audit trail as JSON lines (AuditEvent), up to 10,000 a call; X-Next-After-Sequence "
       "says where the next starts"},
      {"parameters", export_params},
      {"security", nlohmann::json::array(
                       {nlohmann::json::object({{"adminKey", nlohmann::json::array()}}),
                        nlohmann::json::object({{"sessionCookie", nlohmann::json::array()}})})},
      {"responses",
       {{"200",
         {{"description", "One AuditEvent per line"},
          {"content", {{"application/x-ndjson", {{"schema", {{"type", "string"}}}}}}}}}}}};
  paths[kSessionPath]["post"] = {
      {"operationId", "SignIn"},
      {"summary",
       "Signs in with an admin key: the session cookie (Secure, HttpOnly, SameSite=Strict) and "
       "its anti-CSRF token"},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/json", {{"schema", {{"$ref", "#/components/schemas/SignInRequest"}}}}}}}}},
      {"responses", session_answer(201, "ConsoleSession")}};
  paths[kSessionPath]["get"] = {{"operationId", "GetSession"},
                                {"summary", "The session of the cookie and its anti-CSRF token"},
                                {"security", nlohmann::json::array({nlohmann::json::object(
                                                 {{"sessionCookie", nlohmann::json::array()}})})},
                                {"responses", session_answer(200, "ConsoleSession")}};
  paths[kSessionPath]["delete"] = {
      {"operationId", "SignOut"},
      {"summary", "Ends the session on every server"},
      {"security", nlohmann::json::array(
                       {nlohmann::json::object({{"sessionCookie", nlohmann::json::array()}})})},
      {"parameters", nlohmann::json::array({{{"name", kCsrfHeader},
                                             {"in", "header"},
                                             {"required", true},
                                             {"schema", {{"type", "string"}}}}})},
      {"responses", session_answer(200, "Empty")}};
  const nlohmann::json doc = {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "hostca admin API"},
        {"version", "1"},
        {"description",
         "The AdminService of hostca as JSON over HTTPS. Send the admin key as "
         "\"Authorization: Bearer <admin key>\". Messages are hostca.v1's protobuf messages "
         "in protobuf's JSON mapping; unknown fields are refused."}}},
      {"paths", paths},
      {"components",
       {{"schemas", schemas},
        {"securitySchemes",
         {{"adminKey", {{"type", "http"}, {"scheme", "bearer"}}},
          {"sessionCookie",
           {{"type", "apiKey"},
            {"in", "cookie"},
            {"name", kSessionCookie},
            {"description",
             "the console's session; requests other than GET also send X-CSRF-Token"}}}}}}}};
  return doc.dump(2) + "\n";
}

}  // namespace hostca::service
