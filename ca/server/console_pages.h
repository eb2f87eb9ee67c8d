// The admin console's pages (console/ at the top of the source tree): HTML,
// JavaScript and CSS served from the admin HTTPS port at /console/, built
// into the binary, with a Content-Security-Policy that allows scripts and
// styles from this origin only and no inline script. The pages call only
// the JSON API (/api/v1) on the same origin.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace httplib {
class Server;
}

namespace hostca {

struct ConsoleAsset {
  std::string name;  // "index.html", "app.js"
  std::string body;
};

// The console as built (generated from console/* by embed_console.cmake).
const std::vector<ConsoleAsset>& embedded_console_assets();

// What every console answer carries.
extern const char* const kConsoleContentSecurityPolicy;

// The content type of an asset by its name's ending; empty when the ending
// is not one the console serves.
std::string console_content_type(const std::string& name);

// Registers GET / (a redirect to /console/), /console/ and /console/<name>.
// With `folder` set the files are read from it at each request (console
// development: edit, reload); else the built-in copy is served.
void register_console_pages(httplib::Server& server, std::optional<std::string> folder);

}  // namespace hostca
