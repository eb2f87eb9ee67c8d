// hostca-agent: what runs on a host. Fetches and pins the CA, enrols with an
// authorization token, renews over mutual TLS, reissues with a reissue token,
// fetches the CRLs, re-pins and resets, and keeps the host's key (made here,
// never sent) and certificate in its state folder. Before it talks to a
// server it checks the CA that server presents against the pin.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <botan/data_src.h>
#include <botan/hex.h>
#include <botan/pkcs8.h>
#include <botan/pkix_types.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/agent_dir.h"
#include "agent/crl_bundle.h"
#include "agent/enrolment.h"
#include "agent/host_crls.h"
#include "agent/host_status.h"
#include "agent/pin_check.h"
#include "agent/pinned_ca.h"
#include "agent/renewal.h"
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
using hostca::agent::PresentedCa;
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

std::string call_failed(const std::string& what, const grpc::Status& s) {
  return what + ": " + hostca::client::describe(s);
}

// Every command that talks to a server first checks the CA it presents
// against the pin: on a mismatch it reports the failure to that server (best
// effort) and exits 3 with one line naming both fingerprints.
PresentedCa check_pin(const AgentDir& dir, const Pin& pin, const std::string& server) {
  hostca::agent::pinned_ca_certificate(dir, pin);  // ca.pem must hold the pinned key
  try {
    return hostca::agent::check_server_against_pin(pin, server);
  } catch (const hostca::agent::PinMismatch& mismatch) {
    std::string host_id, cert_pem, key_pem;
    try {
      if (const auto id = dir.identity()) {
        host_id = id->host_id;
        // The host's certificate lets its own CA verify the report; the key
        // only proves possession in the handshake and is never sent.
        cert_pem = dir.certificate_pem();
        key_pem = dir.private_key_pem();
      }
    } catch (const std::exception&) {
      // An unreadable identity only means the report goes unverified.
    }
    throw Failure{kExitCertificateFailure,
                  hostca::agent::certificate_failure_line(
                      mismatch, hostca::agent::report_certificate_failure(mismatch, host_id,
                                                                          cert_pem, key_pem))};
  }
}

// The server's TLS certificate must chain to the CA it presented; `what`
// says what was not done if it does not.
void require_tls_chain(const std::string& server, const std::string& tls_name,
                       const PresentedCa& ca, const std::string& what) {
  try {
    hostca::agent::check_tls_chains_to(server, tls_name, ca);
  } catch (const CertificateFailure& e) {
    throw Failure{kExitCertificateFailure, std::string(e.what()) + "; " + what};
  }
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

int cmd_get_ca(const AgentDir& dir, const std::string& server, const std::string& fingerprint,
               bool trust_on_first_use, const std::string& tls_name) {
  if (fingerprint.empty() && !trust_on_first_use) {
    throw Failure{kExitFailure,
                  "give --fingerprint <sha256 from your admin>, or --trust-on-first-use if you "
                  "accept whatever CA answers"};
  }
  // With a CA pinned already, this is a conversation with a server like any other.
  const auto old = dir.pin();
  const PresentedCa ca =
      old ? check_pin(dir, *old, server) : hostca::agent::fetch_presented_ca(server);
  if (!fingerprint.empty()) {
    const std::string want = normalize_fingerprint(fingerprint);
    if (want != ca.sha256 && want != ca.spki_sha256) {
      throw Failure{kExitCertificateFailure,
                    "the CA at " + server + " has SHA-256 fingerprint " + ca.sha256 +
                        " (public key " + ca.spki_sha256 + "), not the " + want +
                        " you gave: nothing was pinned; check the fingerprint with your admin"};
    }
  }
  // The server must hold a TLS certificate issued by this very CA.
  require_tls_chain(server, tls_name, ca, "nothing was pinned");
  const Pin pin{server, tls_name, ca.sha256, ca.spki_sha256};
  dir.save_pin(pin, ca.certificate.PEM_encode());
  std::cout << "pinned CA " << ca.certificate.subject_dn().get_first_attribute("CN") << " from "
            << server << "\n  SHA-256:      " << ca.sha256 << "\n  SPKI SHA-256: " << ca.spki_sha256
            << "\n";
  return 0;
}

int cmd_repin(const AgentDir& dir, const std::string& fingerprint, const std::string& new_server) {
  const auto old = dir.pin();
  if (!old) {
    throw Failure{kExitFailure, "no CA is pinned in " + dir.path() +
                                    " to re-pin: run 'hostca-agent get-ca --server <address> "
                                    "--fingerprint <sha256>'"};
  }
  const std::string want = normalize_fingerprint(fingerprint);
  if (!is_sha256_hex(want)) {
    throw Failure{kExitFailure,
                  "--fingerprint takes the SHA-256 of the new CA certificate or of its public key "
                  "(64 hex digits), as your admin or security team gave it"};
  }
  const std::string server = new_server.empty() ? old->server : new_server;
  const PresentedCa ca = hostca::agent::fetch_presented_ca(server);
  if (want != ca.sha256 && want != ca.spki_sha256) {
    throw Failure{kExitCertificateFailure,
                  "the CA at " + server + " has SHA-256 fingerprint " + ca.sha256 +
                      " (public key " + ca.spki_sha256 + "), not the " + want +
                      " you gave: nothing was re-pinned; check the fingerprint with your "
                      "security team"};
  }
  require_tls_chain(server, old->tls_server_name, ca, "nothing was re-pinned");
  const bool same_key = ca.spki_sha256 == old->spki_sha256;
  dir.save_pin(Pin{server, old->tls_server_name, ca.sha256, ca.spki_sha256},
               ca.certificate.PEM_encode());
  std::cout << "re-pinned CA " << ca.certificate.subject_dn().get_first_attribute("CN") << " from "
            << server << "\n  SHA-256:      " << ca.sha256 << "\n  SPKI SHA-256: " << ca.spki_sha256
            << "\n  was:          " << old->spki_sha256
            << (same_key ? " (the same public key)" : "") << "\n";
  // CRLs of the previous CA say nothing under the new one.
  if (!same_key && hostca::file_exists(dir.crl_path())) {
    dir.remove("crl.pem");
    std::cout << "  removed " << dir.crl_path() << " (CRLs of the previous CA)\n";
  }
  if (const auto id = dir.identity(); id && hostca::file_exists(dir.file("host.pem"))) {
    const auto cert = hostca::agent::host_certificate(dir);
    const std::unique_ptr<Botan::Public_Key> key(ca.certificate.subject_public_key());
    if (!cert.check_signature(*key)) {
      std::cout << "  this host's certificate " << id->serial_hex
                << " was issued by the previous CA: " << hostca::agent::reissue_advice(id->host_id)
                << "\n";
    }
  }
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
  check_pin(dir, pin, pin.server);
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
  check_pin(dir, pin, pin.server);
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
  check_pin(dir, pin, pin.server);
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

struct RenewOptions {
  bool if_due = false;
  double renew_at = hostca::agent::kDefaultRenewAt;
  std::string key_type;  // empty: the type of the current key
};

std::unique_ptr<Botan::Private_Key> current_key(const AgentDir& dir) {
  const std::string pem = dir.private_key_pem();
  try {
    Botan::DataSource_Memory source(pem);
    return Botan::PKCS8::load_key(source);
  } catch (const std::exception& e) {
    throw Failure{kExitFailure, "the host key " + dir.file("host.key") + " cannot be read (" +
                                    e.what() + "); reissue this host's certificate with a new key"};
  }
}

int cmd_renew(const AgentDir& dir, const RenewOptions& o, hostca::TimePoint now) {
  const Pin pin = dir.require_pin();
  const auto id = dir.identity();
  if (!id) {
    throw Failure{kExitFailure, "this host has no identity in " + dir.path() +
                                    " to renew: enrol it first ('hostca-agent enroll --token "
                                    "<token> --hostname <name>')"};
  }
  const auto cert = hostca::agent::host_certificate(dir);
  const auto key = current_key(dir);
  if (cert.subject_public_key_info() != key->subject_public_key()) {
    throw Failure{kExitFailure, dir.file("host.key") + " is not the key of " +
                                    dir.file("host.pem") + ": " +
                                    hostca::agent::reissue_advice(id->host_id)};
  }
  const auto schedule = hostca::agent::schedule_of(cert, o.renew_at);
  const std::string serial = Botan::hex_encode(cert.serial_number(), false);
  if (schedule.expired(now)) {
    throw Failure{kExitFailure, "this host's certificate " + serial + " expired at " +
                                    hostca::format_rfc3339(schedule.not_after) +
                                    "; an expired certificate cannot renew: " +
                                    hostca::agent::reissue_advice(id->host_id)};
  }
  if (schedule.not_yet_valid(now)) {
    throw Failure{kExitFailure, "this host's certificate " + serial + " is not valid before " +
                                    hostca::format_rfc3339(schedule.not_before) +
                                    "; is this host's clock right?"};
  }
  if (o.if_due && !schedule.is_due(now)) {
    std::cout << "not due: renews after " << hostca::format_rfc3339(schedule.due())
              << " (certificate " << serial << " is valid until "
              << hostca::format_rfc3339(schedule.not_after) << ")\n";
    return 0;
  }
  check_pin(dir, pin, pin.server);
  const std::string key_type = o.key_type.empty() ? hostca::agent::key_type_of(*key) : o.key_type;
  const auto names = cert.subject_alt_name().get_attribute("DNS");
  const auto made = hostca::agent::make_key_and_request(
      key_type, id->hostname.empty() ? id->host_id : id->hostname, names);
  const auto res = hostca::agent::request_renewal(dir, pin, *id, made.csr_der);
  // Nothing is kept unless the certificate is the pinned CA's, for the new
  // key and this host ID; the new files replace the old ones together.
  const auto renewed = hostca::agent::check_issued(res, pin, *made.key, id->host_id);
  const Identity kept =
      hostca::agent::keep_identity(dir, *made.key, renewed, id->host_id, id->hostname);
  std::cout << "renewed: serial " << kept.serial_hex << ", not after " << kept.not_after
            << ", host ID " << kept.host_id << " (the previous certificate " << serial
            << " stays valid until " << hostca::format_rfc3339(schedule.not_after) << ")\n";
  return 0;
}

int cmd_status(const AgentDir& dir, double renew_at, bool as_json, hostca::TimePoint now) {
  const auto status = hostca::agent::host_status(dir, renew_at, now);
  std::cout << (as_json ? hostca::agent::status_json(status) : hostca::agent::status_text(status));
  return 0;
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

int cmd_reset(const AgentDir& dir, bool all, bool yes) {
  const auto files = dir.identity_files(all);
  if (files.empty()) {
    std::cout << "nothing to remove in " << dir.path() << "\n";
    return 0;
  }
  if (!yes) {
    if (::isatty(STDIN_FILENO) == 0) {
      throw Failure{kExitFailure,
                    "reset removes this host's identity and needs confirmation: pass --yes (there "
                    "is no terminal to ask on); nothing was removed"};
    }
    std::string who = "this host";
    try {
      if (const auto id = dir.identity(); id && !id->host_id.empty()) who = "host " + id->host_id;
    } catch (const std::exception&) {
      // A damaged host.json is one more reason to reset; ask all the same.
    }
    std::cerr << "Remove the identity of " << who << " from " << dir.path()
              << (all ? " (and the pinned CA)" : "") << "? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    answer = lowered(trimmed(answer));
    while (!answer.empty() && answer.front() == ' ') answer.erase(answer.begin());
    if (answer != "y" && answer != "yes") {
      throw Failure{kExitFailure, "reset cancelled; nothing was removed"};
    }
  }
  for (const auto& name : files) {
    dir.remove(name);
    std::cout << "removed " << dir.file(name) << "\n";
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

  auto* renew = app.add_subcommand(
      "renew", "Get a fresh certificate for a new key, authenticated by the current certificate");
  RenewOptions rn;
  renew->add_flag("--if-due", rn.if_due,
                  "Renew only once --renew-at of the certificate's lifetime has passed (for a "
                  "daily timer); exits 0 either way");
  renew
      ->add_option("--renew-at", rn.renew_at,
                   "Fraction of the lifetime after which --if-due renews")
      ->envname("HOSTCA_RENEW_AT")
      ->capture_default_str();
  renew->add_option("--key-type", rn.key_type,
                    "ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096 (default: the type of "
                    "the current key)");

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
  double status_renew_at = hostca::agent::kDefaultRenewAt;
  status->add_flag("--json", as_json, "Print JSON");
  status
      ->add_option("--renew-at", status_renew_at,
                   "Fraction of the lifetime after which the certificate renews")
      ->envname("HOSTCA_RENEW_AT")
      ->capture_default_str();

  auto* repin = app.add_subcommand(
      "repin",
      "Pin a new CA after a certificate failure, once your security team has confirmed the "
      "change; keeps this host's identity");
  std::string repin_fingerprint, repin_server;
  repin
      ->add_option("--fingerprint", repin_fingerprint,
                   "SHA-256 of the new CA certificate or its public key, from your admin")
      ->required();
  repin->add_option("--server", repin_server,
                    "Server to fetch the new CA from (default: the pinned server)");

  auto* reset = app.add_subcommand(
      "reset",
      "Remove this host's identity (key, certificate, host ID, CRLs), e.g. before a VM is cloned");
  bool reset_all = false, reset_yes = false;
  reset->add_flag("--all", reset_all, "Remove the pinned CA as well");
  reset->add_flag("--yes", reset_yes, "Do not ask for confirmation");

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
    // One command at a time changes the folder; status only reads it.
    const auto lock = dir.try_lock();
    if (lock) {
      dir.finish_interrupted_writes();
    } else if (!status->parsed()) {
      throw Failure{kExitFailure, "another hostca-agent command is working in " + dir.path() +
                                      "; try again when it has finished"};
    }
    // An exposed key stops everything but its removal.
    if (!reset->parsed()) dir.refuse_exposed_key();
    const hostca::TimePoint now = hostca::SystemClock().now();
    if (get_ca->parsed()) return cmd_get_ca(dir, server, fingerprint, tofu, tls_name);
    if (enroll->parsed()) {
      return cmd_enroll(dir, read_token(token, token_file), hostname, aliases, key_type);
    }
    if (reissue->parsed()) {
      ro.token = optional_token(ro.token, reissue_token_file);
      return cmd_reissue(dir, ro);
    }
    if (fetch_crl->parsed()) return cmd_fetch_crl(dir, crl_out);
    if (status->parsed()) return cmd_status(dir, status_renew_at, as_json, now);
    if (renew->parsed()) return cmd_renew(dir, rn, now);
    if (repin->parsed()) return cmd_repin(dir, repin_fingerprint, repin_server);
    if (reset->parsed()) return cmd_reset(dir, reset_all, reset_yes);
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
