// The agent's state folder (--dir, 0700): the pinned CA (ca.pem, pin.json),
// the host's identity (host.key 0600, host.pem, host.json) and the last CRLs
// fetched (crl.pem). Every file is written whole via a temporary file and rename.
#pragma once

#include <optional>
#include <string>

namespace hostca::agent {

struct Pin {
  std::string server;              // host:port the CA was fetched from
  std::string tls_server_name;     // expected server name, if not the host part
  std::string sha256_fingerprint;  // of the CA certificate (DER)
  std::string spki_sha256;         // of the CA public key: what is pinned
};

struct Identity {
  std::string host_id;
  std::string hostname;
  std::string serial_hex;
  std::string not_after;  // RFC 3339
};

class AgentDir {
 public:
  // Refuses a folder that others may enter; a missing one is made (0700)
  // on the first write, so a refused command leaves nothing behind.
  explicit AgentDir(std::string path);

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  std::optional<Pin> pin() const;
  // Throws Error(kFailedPrecondition) telling the user to run get-ca.
  Pin require_pin() const;
  std::string ca_pem() const;
  void save_pin(const Pin& pin, const std::string& ca_pem) const;

  std::optional<Identity> identity() const;
  // Refuses a key file that group or others can read.
  std::string private_key_pem() const;
  void save_identity(const std::string& key_pem, const std::string& cert_pem,
                     const Identity& identity) const;
  std::string certificate_pem() const;

  // Where fetch-crl keeps the CRLs by default: one PEM bundle, 0644.
  std::string crl_path() const { return file("crl.pem"); }
  void save_crl_bundle(const std::string& pem) const;

 private:
  std::string path_;
};

}  // namespace hostca::agent
