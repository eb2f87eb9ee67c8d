#include "server/admin_endpoint.h"

#include <httplib.h>

#include "common/error.h"
#include "server/console_pages.h"

namespace hostca {

AdminEndpoint::AdminEndpoint(const std::string& host, int port, const std::string& chain_file,
                             const std::string& key_file)
    : server_(std::make_unique<httplib::SSLServer>(chain_file.c_str(), key_file.c_str())) {
  if (!server_->is_valid()) {
    throw failed_precondition("cannot serve the admin API over TLS: the certificate " + chain_file +
                              " or the key " + key_file + " could not be loaded");
  }
  server_->set_read_timeout(std::chrono::seconds(10));
  server_->set_keep_alive_max_count(100);
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    throw failed_precondition("cannot listen for the admin API on " + host + ":" +
                              std::to_string(port) + " (server.admin_listen)");
  }
}

AdminEndpoint::~AdminEndpoint() { stop(); }

void AdminEndpoint::serve(Authority& authority, const service::TrustedProxies& proxies,
                          std::optional<std::string> console_folder) {
  api_ = std::make_unique<service::AdminJsonApi>(authority, proxies);
  register_console_pages(*server_, std::move(console_folder));
  api_->register_routes(*server_);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void AdminEndpoint::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace hostca
