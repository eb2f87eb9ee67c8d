#include "server/console_pages.h"

#include <httplib.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace hostca {

const char* const kConsoleContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

std::string console_content_type(const std::string& name) {
  const auto ends = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return {};
}

namespace {

void set_console_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kConsoleContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  // The pages are small; never cached, so that an upgrade shows at once.
  res.set_header("Cache-Control", "no-store");
}

std::optional<std::string> read_asset(const std::optional<std::string>& folder,
                                      const std::string& name) {
  if (!folder) {
    for (const auto& asset : embedded_console_assets()) {
      if (asset.name == name) return asset.body;
    }
    return std::nullopt;
  }
  std::ifstream in(*folder + "/" + name, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void register_console_pages(httplib::Server& server, std::optional<std::string> folder) {
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/console/", 302);
    set_console_headers(res);
  });
  server.Get("/console", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/console/", 302);
    set_console_headers(res);
  });
  // Names are plain ([a-z0-9-] and a known ending): nothing outside the
  // folder can be named.
  server.Get(R"(/console/([a-z0-9-]{0,64}(\.[a-z]{2,4})?))",
             [folder](const httplib::Request& req, httplib::Response& res) {
               std::string name = req.matches[1];
               if (name.empty()) name = "index.html";
               const std::string type = console_content_type(name);
               const auto body = type.empty() ? std::nullopt : read_asset(folder, name);
               set_console_headers(res);
               if (!body) {
                 res.status = 404;
                 res.set_content("no such console page\n", "text/plain; charset=utf-8");
                 return;
               }
               res.set_content(*body, type);
             });
}

}  // namespace hostca
