// hostca-agent: what runs on a host. Fetches and pins the CA, enrols with an
// authorization token, reissues with a reissue token, fetches the CRLs, and
// keeps the host's key (made here, never sent) and certificate in its state
// folder.
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <botan/pkix_types.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/agent_dir.h"
#include "agent/crl_bundle.h"
#include "agent/enrolment.h"
#include "agent/host_crls.h"
#include "agent/pinned_ca.h"
#include "client/channel.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/files.h"
#include "common/uuid.h"
#include "domain/ca_key.h"
#include "hostca/v1/host.grpc.pb.h"

namespace {

using hostca::agent::AgentDir;
using hostca::agent::CertificateFailure;
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

std::string trimmed(std::string value) {
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  return value;
}

std::string read_token(const std::string& token, const std::string& token_file) {
  std::string value = token;
  if (value.empty() && !token_file.empty()) value = hostca::read_file(token_file, "the token file");
  if (value.empty()) {
    if (const char* env = std::getenv("HOSTCA_TOKEN")) value = env;
  }
  value = trimmed(value);
  if (value.empty()) {
    throw Failure{kExitFailure, "give the token with --token, --token-file or HOSTCA_TOKEN"};
  }
  return value;
}

// For reissue a token is optional: --token, else --token-file (which must
// hold one), else $HOSTCA_TOKEN, else none.
std::string optional_token(const std::string& token, const std::string& token_file) {
  if (!token_file.empty()) {
    std::string value = trimmed(hostca::read_file(token_file, "the token file"));
    if (value.empty()) throw Failure{kExitFailure, "the token file " + token_file + " is empty"};
    return value;
  }
  if (!token.empty()) return trimmed(token);
  const char* env = std::getenv("HOSTCA_TOKEN");
  return env ? trimmed(env) : std::string();
}

std::unique_ptr<v1::HostService::Stub> pinned_host_stub(const AgentDir& dir, const Pin& pin) {
  return v1::HostService::NewStub(hostca::client::open_channel(endpoint_for(pin, dir.ca_pem())));
}

int cmd_enroll(const AgentDir& dir, const std::string& token, const std::string& hostname,
               const std::vector<std::string>& aliases, const std::string& key_type) {
  const Pin pin = dir.require_pin();
  if (const auto id = dir.identity()) {
    throw Failure{kExitFailure, "this host already has an identity (host ID " + id->host_id +
                                    "); renew it, reissue it, or 'hostca-agent reset' first"};
  }
  std::vector<std::string> names{hostname};
  names.insert(names.end(), aliases.begin(), aliases.end());
  const auto made = hostca::agent::make_key_and_request(key_type, hostname, names);

  v1::RequestCertificateRequest req;
  req.set_csr(made.csr_der.data(), made.csr_der.size());
  req.set_hostname(hostname);
  for (const auto& a : aliases) req.add_aliases(a);
  req.set_authorization_token(token);
  v1::CertificateResponse res;
  auto ctx = hostca::client::call_context(std::chrono::seconds(30));
  const grpc::Status s = pinned_host_stub(dir, pin)->RequestCertificate(ctx.get(), req, &res);
  if (!s.ok()) throw Failure{kExitFailure, call_failed("enrolment refused", s)};

  const auto cert = hostca::agent::check_issued(res, pin, *made.key, "");
  const Identity id = hostca::agent::keep_identity(dir, *made.key, cert, res.host_id(), hostname);
  std::cout << "enrolled " << hostname << "\n  host ID:   " << id.host_id
            << "\n  serial:    " << id.serial_hex << "\n  not after: " << id.not_after
            << "\n  files:     " << dir.file("host.pem") << ", " << dir.file("host.key") << "\n";
  return 0;
}

struct ReissueOptions {
  std::string token;  // empty: none, the CA decides (auto-reissue window)
  std::string host_id;
  std::string hostname;
  std::vector<std::string> aliases;
  std::string key_type = "ecdsa-p256";
};

int cmd_reissue(const AgentDir& dir, const ReissueOptions& o) {
  const Pin pin = dir.require_pin();
  const auto current = dir.identity();
  std::string host_id = o.host_id;
  if (host_id.empty() && current) host_id = current->host_id;
  if (host_id.empty()) {
    throw Failure{kExitFailure, "this host has no identity in " + dir.path() +
                                    ": give --host-id (your admin can look it up)"};
  }
  host_id = hostca::parse_uuid(host_id, "--host-id");
  // Without --hostname the CA keeps the name it has; host.json or, on a
  // reinstalled host, the new certificate says what that name is.
  std::string hostname = o.hostname;
  if (hostname.empty() && current) hostname = current->hostname;
  std::vector<std::string> names = o.aliases;
  if (!hostname.empty()) names.insert(names.begin(), hostname);
  const auto made =
      hostca::agent::make_key_and_request(o.key_type, hostname.empty() ? host_id : hostname, names);

  v1::ReissueCertificateRequest req;
  req.set_host_id(host_id);
  req.set_csr(made.csr_der.data(), made.csr_der.size());
  req.set_reissue_token(o.token);
  // Only a name given on the command line is a rename; the one on record is not sent, so
  // a plain reissue keeps the name and aliases the CA has.
  req.set_hostname(o.hostname);
  for (const auto& a : o.aliases) req.add_aliases(a);
  v1::CertificateResponse res;
  auto ctx = hostca::client::call_context(std::chrono::seconds(30));
  const grpc::Status s = pinned_host_stub(dir, pin)->ReissueCertificate(ctx.get(), req, &res);
  // Without a token the CA says itself whether this host has an auto-reissue window.
  if (!s.ok()) throw Failure{kExitFailure, call_failed("reissue refused", s)};

  const auto cert = hostca::agent::check_issued(res, pin, *made.key, host_id);
  if (hostname.empty()) hostname = hostca::agent::host_name_in(cert, o.aliases);
  const Identity id = hostca::agent::keep_identity(dir, *made.key, cert, host_id, hostname);
  std::string missing;
  for (const auto& n : hostca::agent::names_missing(cert, names)) missing += " " + n;
  if (!missing.empty()) {
    std::cerr << "hostca-agent: note: the new certificate does not name" << missing << "\n";
  }
  std::string revoked;
  for (const auto& r : res.revoked_serials_hex()) revoked += (revoked.empty() ? "" : ", ") + r;
  if (hostname.empty()) {
    std::string all;
    for (const auto& n : cert.subject_alt_name().get_attribute("DNS")) all += " " + n;
    std::cerr << "hostca-agent: note: the certificate names" << all
              << "; which is the host name is not known here, so host.json records none\n";
  }
  std::cout << "reissued " << (hostname.empty() ? "host " + host_id : hostname)
            << "\n  host ID:   " << id.host_id << "\n  serial:    " << id.serial_hex
            << "\n  not after: " << id.not_after
            << "\n  revoked:   " << (revoked.empty() ? "none" : revoked)
            << "\n  files:     " << dir.file("host.pem") << ", " << dir.file("host.key") << "\n";
  return 0;
}

std::string revocation_text(const std::optional<hostca::agent::RevokedEntry>& r) {
  if (!r) return "not revoked";
  return "REVOKED (" + r->reason + ", " + r->revoked_at + ")";
}

int cmd_fetch_crl(const AgentDir& dir, const std::string& out) {
  const Pin pin = dir.require_pin();
  const auto received = hostca::agent::fetch_pinned_crls(dir, pin);
  const std::string bundle = hostca::agent::crl_bundle_pem(received);
  if (out.empty()) {
    dir.save_crl_bundle(bundle);
  } else {
    hostca::write_file_atomically(out, bundle, 0644);
  }
  const auto now = std::chrono::system_clock::now();
  std::cout << "fetched " << received.size() << " CRL" << (received.size() == 1 ? "" : "s")
            << " into " << (out.empty() ? dir.crl_path() : out) << "\n";
  for (const auto& r : received) {
    std::cout << (r.ca_scope ? std::string("  CA scope") : "  shard " + std::to_string(r.shard))
              << ": CRL number " << r.crl_number << ", next update "
              << hostca::agent::rfc3339(r.crl.next_update())
              << (r.crl.next_update().to_std_timepoint() < now ? " (passed)" : "") << ", "
              << r.crl.get_revoked().size()
              << (r.crl.get_revoked().size() == 1 ? " entry" : " entries") << "\n";
  }
  if (const auto id = dir.identity()) {
    std::vector<Botan::X509_CRL> crls;
    for (const auto& r : received) crls.push_back(r.crl);
    const auto cert = hostca::agent::host_certificate(dir);
    std::cout << "this host's certificate " << id->serial_hex << ": "
              << revocation_text(hostca::agent::find_revocation(crls, cert)) << "\n";
  }
  return 0;
}

// Whether the current certificate is revoked according to crl.pem, for status.
void add_revocation_status(const AgentDir& dir, const std::optional<Pin>& pin, nlohmann::json& j) {
  try {
    if (!pin) throw hostca::failed_precondition("no CA is pinned to check " + dir.crl_path());
    const auto crls = hostca::agent::crls_on_file(dir, *pin);
    const auto revoked = hostca::agent::find_revocation(crls, hostca::agent::host_certificate(dir));
    j["revoked"] = revoked.has_value();
    if (revoked) {
      j["revoked_at"] = revoked->revoked_at;
      j["revocation_reason"] = revoked->reason;
    }
  } catch (const std::exception& e) {
    j["crl_error"] = e.what();
  }
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
    if (hostca::file_exists(dir.crl_path())) add_revocation_status(dir, pin, j);
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

  auto* reissue = app.add_subcommand(
      "reissue",
      "Get a new certificate with a new key after revocation, expiry, reinstall or rename");
  ReissueOptions ro;
  std::string reissue_token_file;
  auto* ro_token = reissue->add_option(
      "--token", ro.token,
      "Reissue token (or --token-file, or $HOSTCA_TOKEN; none: the CA decides whether this host "
      "may reissue without one)");
  reissue->add_option("--token-file", reissue_token_file, "File holding the reissue token")
      ->excludes(ro_token);
  reissue->add_option("--host-id", ro.host_id,
                      "This host's ID (default: from host.json; a reinstalled host gets it from "
                      "its admin)");
  reissue->add_option("--hostname", ro.hostname,
                      "New DNS name after a rename (default: keep the name the CA has)");
  reissue->add_option("--alias", ro.aliases, "Another DNS name of this host (repeat)");
  reissue->add_option("--key-type", ro.key_type, "ecdsa-p256, ecdsa-p384, ed25519 or rsa-3072")
      ->capture_default_str();

  auto* fetch_crl = app.add_subcommand(
      "fetch-crl", "Fetch every CRL shard, check it against the pinned CA and keep it as PEM");
  std::string crl_out;
  fetch_crl->add_option("--out", crl_out, "Where to write the CRLs (default: <dir>/crl.pem)");

  auto* status = app.add_subcommand(
      "status",
      "Show the pinned CA, this host's identity and, with crl.pem, whether it is revoked");
  bool as_json = false;
  status->add_flag("--json", as_json, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; a usage error is one line and exit 1 like any other.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "hostca-agent: " << e.what() << " (see --help)\n";
    return 1;
  }
  try {
    const AgentDir dir(dir_path);
    if (get_ca->parsed()) return cmd_get_ca(dir, server, fingerprint, tofu, tls_name);
    if (enroll->parsed()) {
      return cmd_enroll(dir, read_token(token, token_file), hostname, aliases, key_type);
    }
    if (reissue->parsed()) {
      ro.token = optional_token(ro.token, reissue_token_file);
      return cmd_reissue(dir, ro);
    }
    if (fetch_crl->parsed()) return cmd_fetch_crl(dir, crl_out);
    if (status->parsed()) return cmd_status(dir, as_json);
  } catch (const Failure& f) {
    std::cerr << "hostca-agent: " << f.line << "\n";
    return f.exit_code;
  } catch (const CertificateFailure& e) {
    std::cerr << "hostca-agent: " << e.what() << "\n";
    return kExitCertificateFailure;
  } catch (const std::exception& e) {
    std::cerr << "hostca-agent: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
