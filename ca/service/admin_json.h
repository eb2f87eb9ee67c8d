// The admin JSON API, /api/v1/...: every AdminService call as JSON over
// HTTPS, for scripts (curl with "Authorization: Bearer <admin key>") and the
// console. One rule, two transports: each route authenticates with the same
// Authority::authenticate_admin, converts with the same to_proto/from_proto
// and calls the same Authority method as the gRPC service, and its messages
// are the same protobuf messages in protobuf's JSON mapping (proto field
// names kept). Errors map one to one: INVALID_ARGUMENT 400,
// UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404, ALREADY_EXISTS
// and FAILED_PRECONDITION 409, RESOURCE_EXHAUSTED 429, UNAVAILABLE 503,
// with the same message, as {"error": {"code": "NOT_FOUND", "message": ...}}.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "domain/authority.h"
#include "service/client_address.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace google::protobuf {
class Message;
class Descriptor;
}  // namespace google::protobuf

namespace hostca::service {

// The HTTP status of an error kind (above), and the gRPC name it carries.
int http_status(ErrorKind kind);

// The most a request body may hold; larger ones are refused with 400.
constexpr std::size_t kMaxApiBodyBytes = 64 * 1024;

// The console's session (docs/console.md): POST signs in with an admin key,
// GET says who is signed in (and the anti-CSRF token), DELETE signs out.
// The cookie is Secure, HttpOnly, SameSite=Strict and host-only (__Host-).
// Every request of a session other than a GET sends the token in kCsrfHeader.
constexpr const char* kSessionPath = "/api/v1/session";
constexpr const char* kSessionCookie = "__Host-hostca_session";
constexpr const char* kCsrfHeader = "X-CSRF-Token";

// The audit trail as JSON lines, with ListAuditEvents' filters.
constexpr const char* kAuditExportPath = "/api/v1/audit.jsonl";
constexpr const char* kCaPemPath = "/api/v1/ca.pem";
constexpr std::size_t kMaxExportEvents = 10000;

class AdminJsonApi {
 public:
  AdminJsonApi(Authority& authority, TrustedProxies proxies);

  // Adds the /api/v1 routes, the security headers of every answer, and
  // JSON errors for unknown paths and oversize bodies. `server` must not
  // have other error or post-routing handlers.
  void register_routes(httplib::Server& server);

  // The OpenAPI 3 document of the routes (GET /api/v1/openapi.json), its
  // schemas made from the messages' descriptors.
  const std::string& openapi() const { return openapi_; }

 private:
  struct Route {
    std::string method;   // GET, POST, DELETE
    std::string pattern;  // "/api/v1/hosts/{host_id}"
    std::string call;     // the AdminService RPC it is
    std::string summary;
    const google::protobuf::Descriptor* request = nullptr;
    const google::protobuf::Descriptor* response = nullptr;
    std::string path_field;  // the request field the path names, or empty
    int ok_status = 200;
  };
  static Route route(std::string method, std::string pattern, std::string call, std::string summary,
                     std::string path_field = "", int ok_status = 200) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.call = std::move(call);
    r.summary = std::move(summary);
    r.path_field = std::move(path_field);
    r.ok_status = ok_status;
    return r;
  }
  using Call = std::function<void(const Actor&, const google::protobuf::Message& request,
                                  google::protobuf::Message* response)>;

  template <typename Request, typename Response, typename Fn>
  void add(httplib::Server& server, Route route, Fn fn);
  void handle(const Route& route, const google::protobuf::Message& prototype,
              const google::protobuf::Message& response_prototype, const Call& call,
              const httplib::Request& req, httplib::Response& res);
  // Runs body, turning what it throws into a JSON error; adds the security
  // headers and logs the call (never its query, body or cookie).
  void guarded(const std::string& call, const httplib::Request& req, httplib::Response& res,
               const std::function<void()>& body) const;
  void add_session_routes(httplib::Server& server);
  void add_audit_export(httplib::Server& server);
  // GET /api/v1/crls/g<k>/<shard>.crl and /api/v1/ca.pem: files, not JSON.
  void add_downloads(httplib::Server& server);
  // The Authorization header's admin key, or else the session cookie.
  Actor authenticate(const httplib::Request& req, const std::string& call) const;
  static std::string session_cookie(const httplib::Request& req);
  std::string address_of(const httplib::Request& req) const;
  std::string build_openapi() const;

  Authority& authority_;
  TrustedProxies proxies_;
  std::vector<Route> routes_;
  std::string openapi_;
};

}  // namespace hostca::service
