#include "agent/agent_dir.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"

namespace hostca::agent {

using json = nlohmann::json;

AgentDir::AgentDir(std::string path) : path_(std::move(path)) {
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // made on the first write
  if ((st.st_mode & 077) != 0) {
    throw failed_precondition("the agent folder " + path_ +
                              " is open to other users; run 'chmod 700 " + path_ + "'");
  }
}

std::optional<Pin> AgentDir::pin() const {
  if (!file_exists(file("pin.json"))) return std::nullopt;
  const json j = json::parse(read_file(file("pin.json"), "the pin"));
  return Pin{j.value("server", ""), j.value("tls_server_name", ""),
             j.value("sha256_fingerprint", ""), j.value("spki_sha256", "")};
}

Pin AgentDir::require_pin() const {
  auto p = pin();
  if (!p) {
    throw failed_precondition("no CA is pinned in " + path_ +
                              ": run 'hostca-agent get-ca --server <address> --fingerprint "
                              "<sha256>' first");
  }
  return *p;
}

std::string AgentDir::ca_pem() const { return read_file(file("ca.pem"), "the pinned CA"); }

void AgentDir::save_pin(const Pin& pin, const std::string& ca_pem) const {
  make_private_dir(path_, 0700);
  write_file_atomically(file("ca.pem"), ca_pem, 0644);
  const json j{{"server", pin.server},
               {"tls_server_name", pin.tls_server_name},
               {"sha256_fingerprint", pin.sha256_fingerprint},
               {"spki_sha256", pin.spki_sha256}};
  write_file_atomically(file("pin.json"), j.dump(2) + "\n", 0644);
}

std::optional<Identity> AgentDir::identity() const {
  if (!file_exists(file("host.json"))) return std::nullopt;
  const json j = json::parse(read_file(file("host.json"), "the host identity"));
  return Identity{j.value("host_id", ""), j.value("hostname", ""), j.value("serial_hex", ""),
                  j.value("not_after", "")};
}

std::string AgentDir::private_key_pem() const {
  const std::string path = file("host.key");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw failed_precondition("no host key in " + path_);
  if ((st.st_mode & 077) != 0) {
    throw failed_precondition("the host key " + path +
                              " can be read by other users; refusing to use it (chmod 600 it, "
                              "and consider the key exposed)");
  }
  return read_file(path, "the host key");
}

void AgentDir::save_identity(const std::string& key_pem, const std::string& cert_pem,
                             const Identity& identity) const {
  // host.json is written last: it marks a complete identity.
  make_private_dir(path_, 0700);
  write_file_atomically(file("host.key"), key_pem, 0600);
  write_file_atomically(file("host.pem"), cert_pem, 0644);
  const json j{{"host_id", identity.host_id},
               {"hostname", identity.hostname},
               {"serial_hex", identity.serial_hex},
               {"not_after", identity.not_after}};
  write_file_atomically(file("host.json"), j.dump(2) + "\n", 0644);
}

std::string AgentDir::certificate_pem() const {
  return read_file(file("host.pem"), "the host certificate");
}

void AgentDir::save_crl_bundle(const std::string& pem) const {
  make_private_dir(path_, 0700);
  write_file_atomically(crl_path(), pem, 0644);
}

}  // namespace hostca::agent
