// hostca-agent: what runs on a host. Fetches and pins the CA, enrols with an
// authorization token, renews over mutual TLS, reissues with a reissue token,
// fetches the CRLs, re-pins and resets, and keeps the host's key (made here,
// never sent) and certificate in its state folder. Before it talks to a
// server it checks the CA that server presents against the pin.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>

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
#include "agent/pin_set.h"
#include "agent/pinned_ca.h"
#include "agent/renewal.h"
#include "client/channel.h"
#include "client/cli.h"
#include "client/server_verifier.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/files.h"
#include "common/uuid.h"
#include "hostca/v1/host.grpc.pb.h"
#include "pki/keys.h"

namespace {

using hostca::agent::AgentDir;
using hostca::agent::CertificateFailure;
using hostca::agent::Identity;
using hostca::agent::Pin;
using hostca::agent::PinSet;
using hostca::agent::PresentedCa;
using UpdatedPins = hostca::agent::PinUpdate;
namespace v1 = hostca::v1;

using hostca::client::CliFailure;
using hostca::client::kExitCertificateFailure;
using hostca::client::kExitFailure;

std::string normalize_fingerprint(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// This host's certificates, which say what CA keys it still needs: none
// without an identity, nullopt when host.pem cannot be read (then no key is
// let go).
std::optional<std::vector<Botan::X509_Certificate>> host_certificates(const AgentDir& dir) {
  try {
    if (!dir.identity() || !hostca::file_exists(dir.file("host.pem"))) {
      return std::vector<Botan::X509_Certificate>{};
    }
    return std::vector<Botan::X509_Certificate>{hostca::agent::host_certificate(dir)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Every command that talks to a server first fetches what it announces and
// follows it against the pins (hostca::agent::follow_server). When the
// server's active key is neither pinned nor linked from a pinned key, it
// reports the failure to that server (best effort) and exits 3 with one
// line naming the keys. Writes nothing.
UpdatedPins follow_server(const AgentDir& dir, const PinSet& pins, const std::string& server,
                          hostca::TimePoint now) {
  try {
    return hostca::agent::follow_server(pins, server, host_certificates(dir), now);
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
    throw CliFailure(hostca::agent::certificate_failure_line(
                         mismatch, hostca::agent::report_certificate_failure(mismatch, host_id,
                                                                             cert_pem, key_pem)),
                     kExitCertificateFailure);
  }
}

// follow_server against the pinned server, keeping what changed: one line
// on stderr for each key pinned, made current, let go or refused, and the
// new set in pin.json and ca.pem.
UpdatedPins follow_pinned_server(const AgentDir& dir, hostca::TimePoint now) {
  const PinSet pins = PinSet::read(dir);
  UpdatedPins update = follow_server(dir, pins, pins.server(), now);
  for (const auto& line : update.refusals) std::cerr << "hostca-agent: warning: " << line << "\n";
  for (const auto& line : update.events) std::cerr << "hostca-agent: note: " << line << "\n";
  if (update.changed) update.pins.save(dir);
  return update;
}

// Tells the server which keys this host pins (for admins following a
// rollover); a failure is one line on stderr, never the command's.
void tell_trusted_cas(const AgentDir& dir, const PinSet& pins) {
  const std::string why = hostca::agent::report_trusted_cas(dir, pins);
  if (!why.empty()) {
    std::cerr << "hostca-agent: note: could not tell the server which CA keys this host pins: "
              << why << "\n";
  }
}

// The server's TLS certificate must chain to the CA it presented; `what`
// says what was not done if it does not.
void require_tls_chain(const std::string& server, const std::string& tls_name,
                       const PresentedCa& ca, const std::string& what) {
  try {
    hostca::agent::check_tls_chains_to(server, tls_name, ca);
  } catch (const CertificateFailure& e) {
    throw CliFailure(std::string(e.what()) + "; " + what, kExitCertificateFailure);
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
    throw CliFailure(
        "give --fingerprint <sha256 from your admin>, or --trust-on-first-use if you "
        "accept whatever CA answers");
  }
  // With a CA pinned already, this is a conversation with a server like any other.
  const auto old = dir.pin();
  const PresentedCa ca =
      old ? follow_server(dir, PinSet::read(dir), server, hostca::SystemClock().now()).active
          : hostca::agent::fetch_presented_ca(server);
  if (!fingerprint.empty()) {
    const std::string want = normalize_fingerprint(fingerprint);
    if (want != ca.sha256 && want != ca.spki_sha256) {
      throw CliFailure("the CA at " + server + " has SHA-256 fingerprint " + ca.sha256 +
                           " (public key " + ca.spki_sha256 + "), not the " + want +
                           " you gave: nothing was pinned; check the fingerprint with your admin",
                       kExitCertificateFailure);
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
    throw CliFailure("no CA is pinned in " + dir.path() +
                     " to re-pin: run 'hostca-agent get-ca --server <address> "
                     "--fingerprint <sha256>'");
  }
  const std::string want = normalize_fingerprint(fingerprint);
  if (!is_sha256_hex(want)) {
    throw CliFailure(
        "--fingerprint takes the SHA-256 of the new CA certificate or of its public key "
        "(64 hex digits), as your admin or security team gave it");
  }
  const std::string server = new_server.empty() ? old->server : new_server;
  const PresentedCa ca = hostca::agent::fetch_presented_ca(server);
  if (want != ca.sha256 && want != ca.spki_sha256) {
    throw CliFailure("the CA at " + server + " has SHA-256 fingerprint " + ca.sha256 +
                         " (public key " + ca.spki_sha256 + "), not the " + want +
                         " you gave: nothing was re-pinned; check the fingerprint with your "
                         "security team",
                     kExitCertificateFailure);
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

// An enrolment needs a token: --token, else --token-file, else $HOSTCA_TOKEN.
std::string required_token(const std::string& token, const std::string& token_file) {
  std::string value = hostca::client::secret_from(token, token_file, "HOSTCA_TOKEN", "token");
  if (value.empty()) throw CliFailure("give the token with --token, --token-file or HOSTCA_TOKEN");
  return value;
}

int cmd_enroll(const AgentDir& dir, const hostca::agent::EnrolOptions& o, hostca::TimePoint now) {
  PinSet::read(dir);  // a folder without a pin, or a damaged one, says so first
  if (const auto id = dir.identity()) {
    throw CliFailure("this host already has an identity (host ID " + id->host_id +
                     "); renew it, reissue it, or 'hostca-agent reset' first");
  }
  const PinSet pins = follow_pinned_server(dir, now).pins;
  const Identity id = hostca::agent::enrol(dir, pins, o);
  tell_trusted_cas(dir, pins);
  std::cout << "enrolled " << o.hostname << "\n  host ID:   " << id.host_id
            << "\n  serial:    " << id.serial_hex << "\n  not after: " << id.not_after
            << "\n  files:     " << dir.file("host.pem") << ", " << dir.file("host.key") << "\n";
  return 0;
}

int cmd_reissue(const AgentDir& dir, hostca::agent::ReissueOptions o, hostca::TimePoint now) {
  PinSet::read(dir);
  const auto current = dir.identity();
  if (o.host_id.empty() && current) o.host_id = current->host_id;
  if (o.host_id.empty()) {
    throw CliFailure("this host has no identity in " + dir.path() +
                     ": give --host-id (your admin can look it up)");
  }
  o.host_id = hostca::parse_uuid(o.host_id, "--host-id");
  const PinSet pins = follow_pinned_server(dir, now).pins;
  const auto r = hostca::agent::reissue(dir, pins, o, current ? current->hostname : "");
  tell_trusted_cas(dir, pins);
  std::string missing;
  for (const auto& n : r.names_missing) missing += " " + n;
  if (!missing.empty()) {
    std::cerr << "hostca-agent: note: the new certificate does not name" << missing << "\n";
  }
  std::string revoked;
  for (const auto& serial : r.revoked_serials) revoked += (revoked.empty() ? "" : ", ") + serial;
  const Identity& id = r.identity;
  if (id.hostname.empty()) {
    std::string all;
    for (const auto& n : r.dns_names) all += " " + n;
    std::cerr << "hostca-agent: note: the certificate names" << all
              << "; which is the host name is not known here, so host.json records none\n";
  }
  std::cout << "reissued " << (id.hostname.empty() ? "host " + o.host_id : id.hostname)
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

int cmd_fetch_crl(const AgentDir& dir, const std::string& out, hostca::TimePoint now) {
  const UpdatedPins update = follow_pinned_server(dir, now);
  const auto fetched = hostca::agent::fetch_pinned_crls(dir, update.pins);
  const auto& received = fetched.crls;
  const std::string bundle = hostca::agent::crl_bundle_pem(received);
  if (out.empty()) {
    dir.save_crl_bundle(bundle);
  } else {
    hostca::write_file_atomically(out, bundle, 0644);
  }
  std::cout << "fetched " << received.size() << " CRL" << (received.size() == 1 ? "" : "s")
            << " into " << (out.empty() ? dir.crl_path() : out) << "\n";
  // Several CA keys publish during a rollover: say whose each CRL is.
  const bool several_keys = std::any_of(received.begin(), received.end(), [&](const auto& r) {
    return r.signer_spki_sha256 != received.front().signer_spki_sha256;
  });
  for (const auto& r : received) {
    std::cout << (r.ca_scope ? std::string("  CA scope") : "  shard " + std::to_string(r.shard))
              << (several_keys ? " of CA key " + r.signer_spki_sha256.substr(0, 16) : "")
              << ": CRL number " << r.crl_number << ", next update "
              << hostca::agent::rfc3339(r.crl.next_update())
              << (r.crl.next_update().to_std_timepoint() < now ? " (passed)" : "") << ", "
              << r.crl.get_revoked().size()
              << (r.crl.get_revoked().size() == 1 ? " entry" : " entries") << "\n";
  }
  if (fetched.skipped > 0) {
    std::cout << "  left out " << fetched.skipped << " CRL" << (fetched.skipped == 1 ? "" : "s")
              << " of CA keys this host does not pin\n";
  }
  if (const auto id = dir.identity()) {
    std::vector<Botan::X509_CRL> crls;
    for (const auto& r : received) crls.push_back(r.crl);
    const auto cert = hostca::agent::host_certificate(dir);
    std::cout << "this host's certificate " << id->serial_hex << ": "
              << revocation_text(hostca::agent::find_revocation(crls, cert)) << "\n";
    if (update.changed) tell_trusted_cas(dir, update.pins);
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
    throw CliFailure("the host key " + dir.file("host.key") + " cannot be read (" + e.what() +
                     "); reissue this host's certificate with a new key");
  }
}

std::string renew_at_once_note(const Botan::X509_Certificate& cert, const PresentedCa& active) {
  return "certificate " + Botan::hex_encode(cert.serial_number(), false) +
         " is not from the server's active CA key " + active.spki_sha256 +
         " (a CA key rollover was activated): renewing it now";
}

int cmd_renew(const AgentDir& dir, const RenewOptions& o, hostca::TimePoint now) {
  PinSet::read(dir);  // a folder without a pin, or a damaged one, says so first
  const auto id = dir.identity();
  if (!id) {
    throw CliFailure("this host has no identity in " + dir.path() +
                     " to renew: enrol it first ('hostca-agent enroll --token "
                     "<token> --hostname <name>')");
  }
  const auto cert = hostca::agent::host_certificate(dir);
  const auto key = current_key(dir);
  if (cert.subject_public_key_info() != key->subject_public_key()) {
    throw CliFailure(dir.file("host.key") + " is not the key of " + dir.file("host.pem") + ": " +
                     hostca::agent::reissue_advice(id->host_id));
  }
  const auto schedule = hostca::agent::schedule_of(cert, o.renew_at);
  const std::string serial = Botan::hex_encode(cert.serial_number(), false);
  if (schedule.expired(now)) {
    throw CliFailure(
        "this host's certificate " + serial + " expired at " +
        hostca::format_rfc3339(schedule.not_after) +
        "; an expired certificate cannot renew: " + hostca::agent::reissue_advice(id->host_id));
  }
  if (schedule.not_yet_valid(now)) {
    throw CliFailure("this host's certificate " + serial + " is not valid before " +
                     hostca::format_rfc3339(schedule.not_before) + "; is this host's clock right?");
  }
  const auto not_due_line = [&] {
    std::cout << "not due: renews after " << hostca::format_rfc3339(schedule.due())
              << " (certificate " << serial << " is valid until "
              << hostca::format_rfc3339(schedule.not_after) << ")\n";
  };
  // Even when not due, the daily timer is how this host follows a CA key
  // rollover; a server out of reach then is no reason to fail the timer.
  std::optional<UpdatedPins> update;
  try {
    update = follow_pinned_server(dir, now);
  } catch (const hostca::Error& e) {
    if (!(o.if_due && !schedule.is_due(now) && e.kind() == hostca::ErrorKind::kUnavailable)) {
      throw;
    }
    not_due_line();
    std::cerr << "hostca-agent: note: " << e.what() << "\n";
    return 0;
  }
  const PinSet& pins = update->pins;
  const auto reason =
      o.if_due ? hostca::agent::renewal_reason(schedule, cert, update->active.certificate, now)
               : hostca::agent::RenewalReason::kDue;
  if (reason == hostca::agent::RenewalReason::kNotDue) {
    not_due_line();
    if (update->changed) tell_trusted_cas(dir, pins);
    return 0;
  }
  if (reason == hostca::agent::RenewalReason::kIssuerRetiring) {
    std::cerr << "hostca-agent: note: " << renew_at_once_note(cert, update->active) << "\n";
  }
  const std::string key_type = o.key_type.empty() ? hostca::agent::key_type_of(*key) : o.key_type;
  const auto names = cert.subject_alt_name().get_attribute("DNS");
  const auto made = hostca::agent::make_key_and_request(
      key_type, id->hostname.empty() ? id->host_id : id->hostname, names);
  const auto res = hostca::agent::request_renewal(dir, pins, *id, made.csr_der);
  // Nothing is kept unless the certificate is from a pinned CA key, for the
  // new key and this host ID; the new files replace the old ones together.
  const auto renewed = hostca::agent::check_issued(res, pins, *made.key, id->host_id);
  const Identity kept =
      hostca::agent::keep_identity(dir, *made.key, renewed, id->host_id, id->hostname);
  std::cout << "renewed: serial " << kept.serial_hex << ", not after " << kept.not_after
            << ", host ID " << kept.host_id << " (the previous certificate " << serial
            << " stays valid until " << hostca::format_rfc3339(schedule.not_after) << ")\n";
  tell_trusted_cas(dir, pins);
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
      throw CliFailure(
          "reset removes this host's identity and needs confirmation: pass --yes (there "
          "is no terminal to ask on); nothing was removed");
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
    answer = lowered(hostca::client::trimmed(answer));
    if (answer != "y" && answer != "yes") {
      throw CliFailure("reset cancelled; nothing was removed");
    }
  }
  for (const auto& name : files) {
    dir.remove(name);
    std::cout << "removed " << dir.file(name) << "\n";
  }
  return 0;
}

// One subcommand: what CLI11 parsed it into, and what running it does in
// the agent's folder. Its options live as long as the lambda.
struct Command {
  CLI::App* app;
  std::function<int(const AgentDir&)> run;
};
using Commands = std::vector<Command>;

void add_get_ca(CLI::App& app, Commands& commands) {
  struct Options {
    std::string server, fingerprint, tls_name;
    bool tofu = false;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand("get-ca", "Fetch the CA certificate, check it and pin it");
  c->add_option("--server", o->server, "hostca server address (host:port)")->required();
  c->add_option("--fingerprint", o->fingerprint,
                "SHA-256 of the CA certificate or its public key, from your admin");
  c->add_flag("--trust-on-first-use", o->tofu, "Pin whatever CA answers (no fingerprint check)");
  c->add_option("--tls-server-name", o->tls_name, "Name to expect in the server's certificate");
  commands.push_back({c, [o](const AgentDir& dir) {
                        return cmd_get_ca(dir, o->server, o->fingerprint, o->tofu, o->tls_name);
                      }});
}

void add_enroll(CLI::App& app, Commands& commands) {
  struct Options {
    hostca::agent::EnrolOptions enrol;
    std::string token_file;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand("enroll", "Get this host's first certificate with a token");
  c->add_option("--token", o->enrol.token,
                "Authorization token (or --token-file, or $HOSTCA_TOKEN)");
  c->add_option("--token-file", o->token_file, "File holding the authorization token");
  c->add_option("--hostname", o->enrol.hostname, "This host's DNS name")->required();
  c->add_option("--alias", o->enrol.aliases, "Another DNS name of this host (repeat)");
  c->add_option("--key-type", o->enrol.key_type, "ecdsa-p256, ecdsa-p384, ed25519 or rsa-3072")
      ->capture_default_str();
  commands.push_back({c, [o](const AgentDir& dir) {
                        hostca::agent::EnrolOptions enrol = o->enrol;
                        enrol.token = required_token(enrol.token, o->token_file);
                        return cmd_enroll(dir, enrol, hostca::SystemClock().now());
                      }});
}

void add_renew(CLI::App& app, Commands& commands) {
  auto o = std::make_shared<RenewOptions>();
  auto* c = app.add_subcommand(
      "renew", "Get a fresh certificate for a new key, authenticated by the current certificate");
  c->add_flag("--if-due", o->if_due,
              "Renew only once --renew-at of the certificate's lifetime has passed (for a daily "
              "timer); exits 0 either way");
  c->add_option("--renew-at", o->renew_at, "Fraction of the lifetime after which --if-due renews")
      ->envname("HOSTCA_RENEW_AT")
      ->capture_default_str();
  c->add_option("--key-type", o->key_type,
                "ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096 (default: the type of the "
                "current key)");
  commands.push_back(
      {c, [o](const AgentDir& dir) { return cmd_renew(dir, *o, hostca::SystemClock().now()); }});
}

void add_reissue(CLI::App& app, Commands& commands) {
  struct Options {
    hostca::agent::ReissueOptions reissue;
    std::string token_file;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand(
      "reissue",
      "Get a new certificate with a new key after revocation, expiry, reinstall or rename");
  auto* token = c->add_option("--token", o->reissue.token,
                              "Reissue token (or --token-file, or $HOSTCA_TOKEN; none: the CA "
                              "decides whether this host may reissue without one)");
  c->add_option("--token-file", o->token_file, "File holding the reissue token")->excludes(token);
  c->add_option("--host-id", o->reissue.host_id,
                "This host's ID (default: from host.json; a reinstalled host gets it from its "
                "admin)");
  c->add_option("--hostname", o->reissue.hostname,
                "New DNS name after a rename (default: keep the name the CA has)");
  c->add_option("--alias", o->reissue.aliases, "Another DNS name of this host (repeat)");
  c->add_option("--key-type", o->reissue.key_type, "ecdsa-p256, ecdsa-p384, ed25519 or rsa-3072")
      ->capture_default_str();
  commands.push_back({c, [o](const AgentDir& dir) {
                        hostca::agent::ReissueOptions reissue = o->reissue;
                        // For reissue a token is optional: none lets the CA decide.
                        reissue.token = hostca::client::secret_from(reissue.token, o->token_file,
                                                                    "HOSTCA_TOKEN", "token");
                        return cmd_reissue(dir, reissue, hostca::SystemClock().now());
                      }});
}

void add_fetch_crl(CLI::App& app, Commands& commands) {
  auto out = std::make_shared<std::string>();
  auto* c = app.add_subcommand(
      "fetch-crl", "Fetch every CRL shard, check it against the pinned CA and keep it as PEM");
  c->add_option("--out", *out, "Where to write the CRLs (default: <dir>/crl.pem)");
  commands.push_back({c, [out](const AgentDir& dir) {
                        return cmd_fetch_crl(dir, *out, hostca::SystemClock().now());
                      }});
}

CLI::App* add_status(CLI::App& app, Commands& commands) {
  struct Options {
    bool as_json = false;
    double renew_at = hostca::agent::kDefaultRenewAt;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand(
      "status",
      "Show the pinned CA, this host's identity and, with crl.pem, whether it is revoked");
  c->add_flag("--json", o->as_json, "Print JSON");
  c->add_option("--renew-at", o->renew_at,
                "Fraction of the lifetime after which the certificate renews")
      ->envname("HOSTCA_RENEW_AT")
      ->capture_default_str();
  commands.push_back({c, [o](const AgentDir& dir) {
                        return cmd_status(dir, o->renew_at, o->as_json,
                                          hostca::SystemClock().now());
                      }});
  return c;
}

void add_repin(CLI::App& app, Commands& commands) {
  struct Options {
    std::string fingerprint, server;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand("repin",
                               "Pin a new CA after a certificate failure, once your security "
                               "team has confirmed the change; keeps this host's identity");
  c->add_option("--fingerprint", o->fingerprint,
                "SHA-256 of the new CA certificate or its public key, from your admin")
      ->required();
  c->add_option("--server", o->server,
                "Server to fetch the new CA from (default: the pinned server)");
  commands.push_back(
      {c, [o](const AgentDir& dir) { return cmd_repin(dir, o->fingerprint, o->server); }});
}

CLI::App* add_reset(CLI::App& app, Commands& commands) {
  struct Options {
    bool all = false, yes = false;
  };
  auto o = std::make_shared<Options>();
  auto* c = app.add_subcommand(
      "reset",
      "Remove this host's identity (key, certificate, host ID, CRLs), e.g. before a VM is cloned");
  c->add_flag("--all", o->all, "Remove the pinned CA as well");
  c->add_flag("--yes", o->yes, "Do not ask for confirmation");
  commands.push_back({c, [o](const AgentDir& dir) { return cmd_reset(dir, o->all, o->yes); }});
  return c;
}

// The exit code of a failure: 3 for a certificate failure (the CA presented
// differs from the one pinned or given, or a server's TLS certificate was
// refused in the handshake, whatever call found it), else the failure's own.
int exit_code_of(const std::exception& e, int code) {
  if (dynamic_cast<const CertificateFailure*>(&e) != nullptr) return kExitCertificateFailure;
  if (!hostca::client::last_server_refusal().empty()) return kExitCertificateFailure;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostca-agent: obtain and keep this host's certificate"};
  app.require_subcommand(1);
  std::string dir_path = "/var/lib/hostca-agent";
  app.add_option("--dir", dir_path, "State folder (created 0700)")
      ->envname("HOSTCA_AGENT_DIR")
      ->capture_default_str();
  Commands commands;
  add_get_ca(app, commands);
  add_enroll(app, commands);
  add_renew(app, commands);
  add_reissue(app, commands);
  add_fetch_crl(app, commands);
  const CLI::App* status = add_status(app, commands);
  add_repin(app, commands);
  const CLI::App* reset = add_reset(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; a usage error is one line and exit 1 like any other.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "hostca-agent: " << e.what() << " (see --help)\n";
    return kExitFailure;
  }
  const auto chosen = std::find_if(commands.begin(), commands.end(),
                                   [](const Command& c) { return c.app->parsed(); });
  return hostca::client::run_command(
      "hostca-agent",
      [&] {
        const AgentDir dir(dir_path);
        // One command at a time changes the folder; status only reads it.
        const auto lock = dir.try_lock();
        if (lock) {
          dir.finish_interrupted_writes();
        } else if (!status->parsed()) {
          throw CliFailure("another hostca-agent command is working in " + dir.path() +
                           "; try again when it has finished");
        }
        // An exposed key stops everything but its removal.
        if (!reset->parsed()) dir.refuse_exposed_key();
        return chosen->run(dir);
      },
      exit_code_of);
}
