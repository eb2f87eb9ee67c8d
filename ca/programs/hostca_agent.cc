// hostca-agent: what runs on a host. Fetches and pins the CA, enrols with an
// authorization token, and keeps the host's key (made here, never sent) and
// certificate in its state folder.
#include <cstdlib>
#include <iostream>

#include <botan/pkcs10.h>
#include <botan/pkcs8.h>
#include <botan/system_rng.h>
#include <botan/x509self.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/agent_dir.h"
#include "client/channel.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/files.h"
#include "domain/ca_key.h"
#include "domain/signer.h"
#include "hostca/v1/host.grpc.pb.h"

namespace {

using hostca::agent::AgentDir;
using hostca::agent::Identity;
using hostca::agent::Pin;
namespace v1 = hostca::v1;

constexpr int kExitFailure = 1;
// The CA presented differs from the one pinned or given: never talk on.
constexpr int kExitCertificateFailure = 3;

struct Failure {
  int exit_code;
  std::string line;
};

std::string normalize_fingerprint(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

hostca::client::Endpoint endpoint_for(const Pin& pin, const std::string& ca_pem) {
  hostca::client::Endpoint e;
  e.address = pin.server;
  e.ca_pem = ca_pem;
  e.tls_name_override = pin.tls_server_name;
  return e;
}

// The fingerprints of a CA certificate, computed here, not taken from the server.
struct CaSeen {
  Botan::X509_Certificate cert;
  std::string sha256;
  std::string spki;
};

CaSeen inspect_ca(const std::string& der) {
  try {
    Botan::X509_Certificate cert(std::vector<std::uint8_t>(der.begin(), der.end()));
    return {cert, hostca::certificate_fingerprint(cert), hostca::spki_fingerprint(cert)};
  } catch (const std::exception&) {
    throw Failure{kExitCertificateFailure, "the server sent something that is not a certificate"};
  }
}

std::string call_failed(const std::string& what, const grpc::Status& s) {
  return what + ": " + hostca::client::describe(s);
}

int cmd_get_ca(const AgentDir& dir, const std::string& server, const std::string& fingerprint,
               bool trust_on_first_use, const std::string& tls_name) {
  if (fingerprint.empty() && !trust_on_first_use) {
    throw Failure{kExitFailure,
                  "give --fingerprint <sha256 from your admin>, or --trust-on-first-use if you "
                  "accept whatever CA answers"};
  }
  auto stub = v1::HostService::NewStub(hostca::client::open_unverified_channel(server));
  v1::GetCACertificateResponse res;
  auto ctx = hostca::client::call_context(std::chrono::seconds(15));
  const grpc::Status s = stub->GetCACertificate(ctx.get(), {}, &res);
  if (!s.ok()) throw Failure{kExitFailure, call_failed("cannot fetch the CA certificate", s)};
  const CaSeen ca = inspect_ca(res.certificate_der());
  if (!fingerprint.empty()) {
    const std::string want = normalize_fingerprint(fingerprint);
    if (want != ca.sha256 && want != ca.spki) {
      throw Failure{kExitCertificateFailure,
                    "the CA at " + server + " has SHA-256 fingerprint " + ca.sha256 +
                        " (public key " + ca.spki + "), not the " + want +
                        " you gave: nothing was pinned; check the fingerprint with your admin"};
    }
  }
  // The server must hold a TLS certificate issued by this very CA.
  Pin pin{server, tls_name, ca.sha256, ca.spki};
  const std::string pem = ca.cert.PEM_encode();
  auto verified = v1::HostService::NewStub(hostca::client::open_channel(endpoint_for(pin, pem)));
  v1::GetCACertificateResponse again;
  auto ctx2 = hostca::client::call_context(std::chrono::seconds(15));
  const grpc::Status s2 = verified->GetCACertificate(ctx2.get(), {}, &again);
  if (!s2.ok() || again.certificate_der() != res.certificate_der()) {
    throw Failure{kExitCertificateFailure,
                  "the server at " + server +
                      " does not present a TLS certificate issued by the CA it sent; nothing was "
                      "pinned" +
                      (s2.ok() ? std::string() : " (" + hostca::client::describe(s2) + ")")};
  }
  if (const auto old = dir.pin(); old && old->spki_sha256 != ca.spki) {
    throw Failure{kExitCertificateFailure, "a different CA (public key " + old->spki_sha256 +
                                               ") is already pinned in " + dir.path() +
                                               "; nothing was changed"};
  }
  dir.save_pin(pin, pem);
  std::cout << "pinned CA " << ca.cert.subject_dn().get_first_attribute("CN") << " from " << server
            << "\n  SHA-256:      " << ca.sha256 << "\n  SPKI SHA-256: " << ca.spki << "\n";
  return 0;
}

std::string read_token(const std::string& token, const std::string& token_file) {
  std::string value = token;
  if (value.empty() && !token_file.empty()) value = hostca::read_file(token_file, "the token file");
  if (value.empty()) {
    if (const char* env = std::getenv("HOSTCA_TOKEN")) value = env;
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  if (value.empty()) {
    throw Failure{kExitFailure, "give the token with --token, --token-file or HOSTCA_TOKEN"};
  }
  return value;
}

int cmd_enroll(const AgentDir& dir, const std::string& token, const std::string& hostname,
               const std::vector<std::string>& aliases, const std::string& key_type) {
  const Pin pin = dir.require_pin();
  if (const auto id = dir.identity()) {
    throw Failure{kExitFailure, "this host already has an identity (host ID " + id->host_id +
                                    "); renew it, reissue it, or 'hostca-agent reset' first"};
  }
  const std::string ca_pem = dir.ca_pem();
  const auto key = hostca::generate_key(hostca::parse_ca_key_algorithm(key_type));
  Botan::System_RNG rng;
  Botan::X509_Cert_Options opts;
  opts.common_name = hostname;
  const Botan::PKCS10_Request csr =
      Botan::X509::create_cert_req(opts, *key, hostca::signature_hash_for(*key), rng);

  v1::RequestCertificateRequest req;
  const auto der = csr.BER_encode();
  req.set_csr(der.data(), der.size());
  req.set_hostname(hostname);
  for (const auto& a : aliases) req.add_aliases(a);
  req.set_authorization_token(token);
  auto stub = v1::HostService::NewStub(hostca::client::open_channel(endpoint_for(pin, ca_pem)));
  v1::CertificateResponse res;
  auto ctx = hostca::client::call_context(std::chrono::seconds(30));
  const grpc::Status s = stub->RequestCertificate(ctx.get(), req, &res);
  if (!s.ok()) throw Failure{kExitFailure, call_failed("enrolment refused", s)};

  const CaSeen ca = inspect_ca(res.ca_certificate_der());
  if (ca.spki != pin.spki_sha256) {
    throw Failure{kExitCertificateFailure,
                  "certificate failure: the server answered for CA public key " + ca.spki +
                      " but " + pin.spki_sha256 + " is pinned; check with your security team"};
  }
  const std::string& cert_der = res.certificate_der();
  Botan::X509_Certificate cert(std::vector<std::uint8_t>(cert_der.begin(), cert_der.end()));
  std::unique_ptr<Botan::Public_Key> ca_key(ca.cert.subject_public_key());
  if (!cert.check_signature(*ca_key) ||
      cert.subject_public_key_info() != key->subject_public_key()) {
    throw Failure{kExitCertificateFailure,
                  "the certificate received is not signed by the pinned CA for this host's key"};
  }
  Identity id{
      res.host_id(), hostname, res.serial_hex(),
      hostca::format_rfc3339(hostca::from_unix_micros(res.not_after().seconds() * 1000000))};
  dir.save_identity(Botan::PKCS8::PEM_encode(*key), cert.PEM_encode(), id);
  std::cout << "enrolled " << hostname << "\n  host ID:   " << id.host_id
            << "\n  serial:    " << id.serial_hex << "\n  not after: " << id.not_after
            << "\n  files:     " << dir.file("host.pem") << ", " << dir.file("host.key") << "\n";
  return 0;
}

int cmd_status(const AgentDir& dir, bool as_json) {
  const auto pin = dir.pin();
  const auto id = dir.identity();
  nlohmann::json j{{"dir", dir.path()}, {"pinned", pin.has_value()}, {"enrolled", id.has_value()}};
  if (pin) {
    j["server"] = pin->server;
    j["ca_sha256"] = pin->sha256_fingerprint;
    j["ca_spki_sha256"] = pin->spki_sha256;
  }
  if (id) {
    j["host_id"] = id->host_id;
    j["hostname"] = id->hostname;
    j["serial_hex"] = id->serial_hex;
    j["not_after"] = id->not_after;
  }
  if (as_json) {
    std::cout << j.dump() << "\n";
  } else {
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::cout << it.key() << ": " << (it->is_string() ? it->get<std::string>() : it->dump())
                << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostca-agent: obtain and keep this host's certificate"};
  app.require_subcommand(1);
  std::string dir_path = "/var/lib/hostca-agent";
  app.add_option("--dir", dir_path, "State folder (created 0700)")
      ->envname("HOSTCA_AGENT_DIR")
      ->capture_default_str();

  auto* get_ca = app.add_subcommand("get-ca", "Fetch the CA certificate, check it and pin it");
  std::string server, fingerprint, tls_name;
  bool tofu = false;
  get_ca->add_option("--server", server, "hostca server address (host:port)")->required();
  get_ca->add_option("--fingerprint", fingerprint,
                     "SHA-256 of the CA certificate or its public key, from your admin");
  get_ca->add_flag("--trust-on-first-use", tofu, "Pin whatever CA answers (no fingerprint check)");
  get_ca->add_option("--tls-server-name", tls_name, "Name to expect in the server's certificate");

  auto* enroll = app.add_subcommand("enroll", "Get this host's first certificate with a token");
  std::string token, token_file, hostname, key_type = "ecdsa-p256";
  std::vector<std::string> aliases;
  enroll->add_option("--token", token, "Authorization token (or --token-file, or $HOSTCA_TOKEN)");
  enroll->add_option("--token-file", token_file, "File holding the authorization token");
  enroll->add_option("--hostname", hostname, "This host's DNS name")->required();
  enroll->add_option("--alias", aliases, "Another DNS name of this host (repeat)");
  enroll->add_option("--key-type", key_type, "ecdsa-p256, ecdsa-p384, ed25519 or rsa-3072")
      ->capture_default_str();

  auto* status = app.add_subcommand("status", "Show the pinned CA and this host's identity");
  bool as_json = false;
  status->add_flag("--json", as_json, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    const AgentDir dir(dir_path);
    if (get_ca->parsed()) return cmd_get_ca(dir, server, fingerprint, tofu, tls_name);
    if (enroll->parsed()) {
      return cmd_enroll(dir, read_token(token, token_file), hostname, aliases, key_type);
    }
    if (status->parsed()) return cmd_status(dir, as_json);
  } catch (const Failure& f) {
    std::cerr << "hostca-agent: " << f.line << "\n";
    return f.exit_code;
  } catch (const std::exception& e) {
    std::cerr << "hostca-agent: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
