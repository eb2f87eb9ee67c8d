// hostca-admin: tokens, hosts, revocations, the audit log and admin keys,
// over the AdminService with an admin key; the CRLs over the RevocationService.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/crl_bundle.h"
#include "client/channel.h"
#include "client/cli.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/files.h"
#include "common/text.h"
#include "hostca/v1/admin.grpc.pb.h"
#include "hostca/v1/revocation.grpc.pb.h"
#include "pki/revocation_reason.h"

namespace {

using hostca::client::describe;
using json = nlohmann::json;
namespace v1 = hostca::v1;

// Where the server is and how to authenticate to it: the global flags.
struct Connection {
  std::string server = "127.0.0.1:8443";
  std::string ca_file = "./tls/ca.pem";
  std::string admin_key_file;
  std::string tls_name;
  bool plaintext = false;
  bool as_json = false;
  int timeout_seconds = 15;

  std::shared_ptr<grpc::Channel> channel() const {
    if (!channel_) {
      hostca::client::Endpoint e = hostca::client::endpoint_for(
          server, plaintext ? "" : hostca::read_file(ca_file, "the CA certificate"), tls_name);
      e.plaintext = plaintext;
      channel_ = hostca::client::open_channel(e);
    }
    return channel_;
  }
  std::unique_ptr<v1::AdminService::Stub> admin() const {
    return v1::AdminService::NewStub(channel());
  }
  std::unique_ptr<v1::RevocationService::Stub> revocation() const {
    return v1::RevocationService::NewStub(channel());
  }
  // A call context with the admin key in the authorization metadata.
  std::unique_ptr<grpc::ClientContext> context() const {
    const std::string key =
        hostca::client::secret_from("", admin_key_file, "HOSTCA_ADMIN_KEY", "admin key");
    if (key.empty()) {
      throw hostca::client::CliFailure(
          "no admin key: give --admin-key-file or set HOSTCA_ADMIN_KEY");
    }
    auto ctx = public_context();
    ctx->AddMetadata("authorization", "Bearer " + key);
    return ctx;
  }
  // One without: CRLs are public.
  std::unique_ptr<grpc::ClientContext> public_context() const {
    return hostca::client::call_context(std::chrono::seconds(timeout_seconds));
  }

 private:
  mutable std::shared_ptr<grpc::Channel> channel_;
};

// A failed call: the one line the CLI prints before exiting non-zero.
void check(const grpc::Status& status) {
  if (!status.ok()) throw hostca::client::CliFailure(describe(status));
}

std::string time_text(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return hostca::format_rfc3339(hostca::from_unix_micros(t.seconds() * 1000000 + t.nanos() / 1000));
}

google::protobuf::Duration duration_of(const std::string& text) {
  google::protobuf::Duration d;
  d.set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(hostca::parse_duration(text)).count());
  return d;
}

json token_json(const v1::TokenInfo& t) {
  return {{"token_id", t.token_id()},
          {"kind", t.kind()},
          {"name", t.name()},
          {"reason", t.reason()},
          {"max_uses", t.max_uses()},
          {"uses", t.uses()},
          {"state", t.state()},
          {"created_at", time_text(t.created_at())},
          {"expires_at", time_text(t.expires_at())},
          {"deleted_at", time_text(t.deleted_at())},
          {"host_id", t.host_id()},
          {"allowed_names",
           std::vector<std::string>(t.allowed_names().begin(), t.allowed_names().end())}};
}

json certificate_json(const v1::CertificateInfo& c) {
  return {{"serial_hex", c.serial_hex()},
          {"kind", c.kind()},
          {"state", c.state()},
          {"not_before", time_text(c.not_before())},
          {"not_after", time_text(c.not_after())},
          {"revoked_at", time_text(c.revoked_at())},
          {"revocation_reason", c.revocation_reason()}};
}

// "7E:3A:..." as OpenSSL prints serials becomes "7e3a..."; anything that is
// not hex goes as given, for the server to refuse.
std::string serial_text(const std::string& text) {
  try {
    return hostca::to_hex(hostca::from_hex(text, "--serial"));
  } catch (const hostca::Error&) {
    return text;
  }
}

// The whole token: shown once, so the same for both kinds.
void print_created_token(const v1::CreateTokenResponse& res, bool as_json) {
  if (as_json) {
    std::cout << json{{"token", res.token()},
                      {"token_id", res.token_id()},
                      {"expires_at", time_text(res.expires_at())}}
                     .dump()
              << "\n";
  } else {
    std::cout << "token:      " << res.token() << "\n"
              << "token id:   " << res.token_id() << "\n"
              << "expires at: " << time_text(res.expires_at()) << "\n"
              << "The token is shown only now; hand it to the host over a safe channel.\n";
  }
}

// One shard as the server sent it, with what its signed DER says.
json crl_json(const v1::CRL& c, bool with_entries) {
  const Botan::X509_CRL crl =
      hostca::agent::parse_crl_der(c.crl_der(), "the CRL of shard " + std::to_string(c.shard()));
  json j{{"shard", c.shard()},
         {"crl_number", c.crl_number()},
         {"this_update", hostca::agent::rfc3339(crl.this_update())},
         {"next_update", hostca::agent::rfc3339(crl.next_update())},
         {"entries_count", crl.get_revoked().size()},
         {"distribution_point", hostca::agent::distribution_point(crl)}};
  if (with_entries) {
    j["entries"] = json::array();
    for (const auto& e : hostca::agent::revoked_entries(crl)) {
      j["entries"].push_back(
          {{"serial_hex", e.serial_hex}, {"revoked_at", e.revoked_at}, {"reason", e.reason}});
    }
  }
  return j;
}

void print_crls(const v1::GetCRLResponse& res, bool with_entries, bool as_json) {
  json all = json::array();
  for (const auto& c : res.crls()) all.push_back(crl_json(c, with_entries));
  if (as_json) {
    std::cout << all.dump() << "\n";
    return;
  }
  for (const auto& j : all) {
    std::cout << "shard " << j["shard"] << "  CRL number " << j["crl_number"] << "  this update "
              << j["this_update"].get<std::string>() << "  next update "
              << j["next_update"].get<std::string>() << "  " << j["entries_count"]
              << (j["entries_count"] == 1 ? " entry" : " entries") << "\n";
    if (!with_entries) continue;
    for (const auto& e : j["entries"]) {
      std::cout << "  " << e["serial_hex"].get<std::string>() << "  revoked "
                << e["revoked_at"].get<std::string>() << "  " << e["reason"].get<std::string>()
                << "\n";
    }
  }
}

json host_json(const v1::HostInfo& h) {
  json j{{"host_id", h.host_id()},
         {"hostname", h.hostname()},
         {"aliases", std::vector<std::string>(h.aliases().begin(), h.aliases().end())},
         {"created_at", time_text(h.created_at())},
         {"has_valid_certificate", h.has_valid_certificate()},
         // Empty unless the host's agent reported reaching a CA other than the one it pinned.
         {"certificate_failure_at",
          h.has_certificate_failure_at() ? time_text(h.certificate_failure_at()) : ""},
         {"certificate_failure_detail", h.certificate_failure_detail()},
         {"certificate_failure_verified", h.certificate_failure_verified()}};
  if (h.has_current_certificate())
    j["current_certificate"] = certificate_json(h.current_certificate());
  return j;
}

// One subcommand: what CLI11 parsed it into, and what running it does.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Registers `sub` to run `run(conn, options)`; the options live as long as the command.
template <typename Options>
void add_command(Commands& commands, CLI::App* sub, const Connection& conn,
                 std::shared_ptr<Options> options, int (*run)(const Connection&, const Options&)) {
  commands.push_back({sub, [&conn, options, run] { return run(conn, *options); }});
}

// -- token

struct TokenCreate {
  std::string name, reason, valid_for, allow_names;
  unsigned max_uses = 1;
};

int token_create(const Connection& conn, const TokenCreate& o) {
  v1::CreateAuthorizationTokenRequest req;
  req.set_name(o.name);
  req.set_max_uses(o.max_uses);
  req.set_reason(o.reason);
  if (!o.valid_for.empty()) *req.mutable_valid_for() = duration_of(o.valid_for);
  for (const auto& pattern : hostca::split_list(o.allow_names)) req.add_allowed_names(pattern);
  v1::CreateTokenResponse res;
  check(conn.admin()->CreateAuthorizationToken(conn.context().get(), req, &res));
  print_created_token(res, conn.as_json);
  return 0;
}

struct TokenList {
  bool include_deleted = false;
};

int token_list(const Connection& conn, const TokenList& o) {
  v1::ListTokensRequest req;
  req.set_include_deleted(o.include_deleted);
  v1::ListTokensResponse res;
  check(conn.admin()->ListTokens(conn.context().get(), req, &res));
  if (conn.as_json) {
    json all = json::array();
    for (const auto& t : res.tokens()) all.push_back(token_json(t));
    std::cout << all.dump() << "\n";
    return 0;
  }
  for (const auto& t : res.tokens()) {
    std::cout << t.token_id() << "  " << t.kind() << "  " << t.state() << "  uses " << t.uses()
              << "/" << t.max_uses() << "  expires " << time_text(t.expires_at()) << "  "
              << t.name() << "\n";
  }
  return 0;
}

struct TokenDelete {
  std::string token_id;
};

int token_delete(const Connection& conn, const TokenDelete& o) {
  v1::DeleteTokenRequest req;
  req.set_token_id(o.token_id);
  v1::DeleteTokenResponse res;
  check(conn.admin()->DeleteToken(conn.context().get(), req, &res));
  std::cout << "token " << o.token_id << " deleted\n";
  return 0;
}

void add_token_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* token = app.add_subcommand("token", "Authorization tokens");
  token->require_subcommand(1);

  auto create = std::make_shared<TokenCreate>();
  auto* c = token->add_subcommand("create", "Create an authorization token");
  c->add_option("--name", create->name, "What the token is for")->required();
  c->add_option("--max-uses", create->max_uses, "How many hosts may enrol with it")
      ->capture_default_str();
  c->add_option("--valid-for", create->valid_for, "Validity, like 24h or 7d (default 24h)");
  c->add_option("--reason", create->reason, "Why it was created");
  c->add_option("--allow-names", create->allow_names,
                "Names a host enrolling with it may use, comma-separated: 'db01.example.com' "
                "exactly, '*.lab.example.com' for any name under lab.example.com (default: any "
                "the CA's name policy allows)");
  add_command(commands, c, conn, create, token_create);

  auto list = std::make_shared<TokenList>();
  auto* l = token->add_subcommand("list", "List tokens");
  l->add_flag("--all", list->include_deleted, "Include deleted tokens");
  add_command(commands, l, conn, list, token_list);

  auto del = std::make_shared<TokenDelete>();
  auto* d = token->add_subcommand("delete", "Delete a token so it can no longer be used");
  d->add_option("--id", del->token_id, "Token ID (from token list)")->required();
  add_command(commands, d, conn, del, token_delete);
}

// -- reissue-token

struct ReissueTokenCreate {
  std::string host_id, valid_for, reason;
};

int reissue_token_create(const Connection& conn, const ReissueTokenCreate& o) {
  v1::CreateReissueTokenRequest req;
  req.set_host_id(o.host_id);
  req.set_reason(o.reason);
  if (!o.valid_for.empty()) *req.mutable_valid_for() = duration_of(o.valid_for);
  v1::CreateTokenResponse res;
  check(conn.admin()->CreateReissueToken(conn.context().get(), req, &res));
  print_created_token(res, conn.as_json);
  return 0;
}

void add_reissue_token_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* reissue_token = app.add_subcommand("reissue-token", "Reissue tokens");
  reissue_token->require_subcommand(1);
  auto o = std::make_shared<ReissueTokenCreate>();
  auto* c =
      reissue_token->add_subcommand("create", "Create a single-use reissue token for one host");
  c->add_option("--host-id", o->host_id, "Host ID the token is for")->required();
  c->add_option("--valid-for", o->valid_for, "Validity, like 24h or 7d (default 24h)");
  c->add_option("--reason", o->reason, "Why it was created");
  add_command(commands, c, conn, o, reissue_token_create);
}

// -- cert

struct CertRevoke {
  std::string serial, host_id, reason = "unspecified";
};

int cert_revoke(const Connection& conn, const CertRevoke& o) {
  v1::RevokeCertificateRequest req;
  if (!o.serial.empty()) {
    req.set_serial_hex(serial_text(o.serial));
  } else {
    req.set_host_id(o.host_id);
  }
  req.set_reason(static_cast<unsigned>(hostca::parse_revocation_reason(o.reason)));
  v1::RevokeCertificateResponse res;
  check(conn.admin()->RevokeCertificate(conn.context().get(), req, &res));
  const std::vector<std::string> serials(res.revoked_serials_hex().begin(),
                                         res.revoked_serials_hex().end());
  if (conn.as_json) {
    std::cout << json{{"revoked_serials_hex", serials}}.dump() << "\n";
  } else {
    for (const auto& serial : serials) std::cout << serial << "\n";
    if (serials.empty()) std::cerr << "no certificate was revoked\n";
  }
  return 0;
}

constexpr const char* kReasonHelp =
    "RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, "
    "cessationOfOperation, privilegeWithdrawn, or its number";

void add_cert_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* cert = app.add_subcommand("cert", "Certificates");
  cert->require_subcommand(1);
  auto o = std::make_shared<CertRevoke>();
  auto* r = cert->add_subcommand(
      "revoke", "Revoke one certificate, or every certificate of a host, and publish the CRL");
  auto* target = r->add_option_group("target", "What to revoke (exactly one)");
  auto* serial =
      target->add_option("--serial", o->serial, "Serial number of the certificate (hex)");
  auto* host = target->add_option("--host-id", o->host_id, "Revoke every certificate of this host");
  serial->excludes(host);
  host->excludes(serial);
  target->require_option(1);
  r->add_option("--reason", o->reason, kReasonHelp)->capture_default_str();
  add_command(commands, r, conn, o, cert_revoke);
}

// -- crl

struct CrlShow {
  std::optional<unsigned> shard;
  bool entries = false;
};

int crl_show(const Connection& conn, const CrlShow& o) {
  v1::GetCRLRequest req;
  if (o.shard) req.set_shard(*o.shard);
  v1::GetCRLResponse res;
  check(conn.revocation()->GetCRL(conn.public_context().get(), req, &res));
  print_crls(res, o.entries, conn.as_json);
  return 0;
}

void add_crl_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* crl = app.add_subcommand("crl", "Certificate revocation lists");
  crl->require_subcommand(1);
  auto o = std::make_shared<CrlShow>();
  auto* show = crl->add_subcommand("show", "Show the current CRL of one shard or of all");
  show->add_option("--shard", o->shard, "Only this shard (default: every shard)");
  show->add_flag("--entries", o->entries, "List each entry: serial, revocation date, reason");
  add_command(commands, show, conn, o, crl_show);
}

// -- host

struct HostList {
  std::string name_filter;
};

int host_list(const Connection& conn, const HostList& o) {
  v1::ListHostsRequest req;
  req.set_hostname_contains(o.name_filter);
  v1::ListHostsResponse res;
  check(conn.admin()->ListHosts(conn.context().get(), req, &res));
  if (conn.as_json) {
    json all = json::array();
    for (const auto& h : res.hosts()) all.push_back(host_json(h));
    std::cout << all.dump() << "\n";
    return 0;
  }
  for (const auto& h : res.hosts()) {
    std::cout << h.host_id() << "  " << h.hostname() << "  "
              << (h.has_valid_certificate() ? "valid" : "no valid certificate");
    if (h.has_current_certificate()) {
      std::cout << "  serial " << h.current_certificate().serial_hex() << "  not after "
                << time_text(h.current_certificate().not_after());
    }
    if (h.has_certificate_failure_at()) {
      std::cout << "  CERTIFICATE FAILURE ("
                << (h.certificate_failure_verified() ? "verified" : "unverified") << ") reported "
                << time_text(h.certificate_failure_at()) << ": " << h.certificate_failure_detail();
    }
    std::cout << "\n";
  }
  return 0;
}

struct HostShow {
  std::string host_id;
};

int host_show(const Connection& conn, const HostShow& o) {
  v1::GetHostRequest req;
  req.set_host_id(o.host_id);
  v1::GetHostResponse res;
  check(conn.admin()->GetHost(conn.context().get(), req, &res));
  json j = host_json(res.host());
  j["certificates"] = json::array();
  for (const auto& c : res.certificates()) j["certificates"].push_back(certificate_json(c));
  std::cout << j.dump(conn.as_json ? -1 : 2) << "\n";
  return 0;
}

struct HostAllowAutoReissue {
  std::string host_id, window;
};

int host_allow_auto_reissue(const Connection& conn, const HostAllowAutoReissue& o) {
  v1::AllowAutoReissueRequest req;
  req.set_host_id(o.host_id);
  *req.mutable_valid_for() = duration_of(o.window);
  v1::AllowAutoReissueResponse res;
  check(conn.admin()->AllowAutoReissue(conn.context().get(), req, &res));
  if (conn.as_json) {
    std::cout << json{{"host_id", req.host_id()}, {"until", time_text(res.until())}}.dump() << "\n";
  } else {
    std::cout << "host " << req.host_id() << " may reissue once without a token until "
              << time_text(res.until()) << "\n";
  }
  return 0;
}

struct HostAcknowledgeFailure {
  std::string host_id, note;
};

int host_acknowledge_failure(const Connection& conn, const HostAcknowledgeFailure& o) {
  v1::AcknowledgeCertificateFailureRequest req;
  req.set_host_id(o.host_id);
  req.set_note(o.note);
  v1::AcknowledgeCertificateFailureResponse res;
  check(conn.admin()->AcknowledgeCertificateFailure(conn.context().get(), req, &res));
  if (conn.as_json) {
    std::cout << json{{"host_id", o.host_id}, {"acknowledged", true}}.dump() << "\n";
  } else {
    std::cout << "host " << o.host_id << ": certificate failure acknowledged\n";
  }
  return 0;
}

struct HostReleaseName {
  std::string host_id, name, reason = "cessationOfOperation";
  bool revoke = false;
};

int host_release_name(const Connection& conn, const HostReleaseName& o) {
  v1::ReleaseHostNameRequest req;
  req.set_host_id(o.host_id);
  req.set_name(o.name);
  req.set_revoke_certificates(o.revoke);
  req.set_reason(static_cast<unsigned>(hostca::parse_revocation_reason(o.reason)));
  v1::ReleaseHostNameResponse res;
  check(conn.admin()->ReleaseHostName(conn.context().get(), req, &res));
  const std::vector<std::string> serials(res.revoked_serials_hex().begin(),
                                         res.revoked_serials_hex().end());
  if (conn.as_json) {
    std::cout << json{{"host_id", o.host_id},
                      {"released", o.name},
                      {"revoked_serials_hex", serials}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "host " << o.host_id << " no longer holds " << o.name;
  if (!serials.empty()) {
    std::cout << "; revoked";
    for (const auto& serial : serials) std::cout << " " << serial;
  }
  std::cout << "\n";
  return 0;
}

void add_host_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* host = app.add_subcommand("host", "Hosts");
  host->require_subcommand(1);

  auto list = std::make_shared<HostList>();
  auto* l = host->add_subcommand("list", "List hosts");
  l->add_option("--name", list->name_filter, "Only hosts whose name contains this");
  add_command(commands, l, conn, list, host_list);

  auto show = std::make_shared<HostShow>();
  auto* s = host->add_subcommand("show", "Show a host and its certificates");
  s->add_option("--host-id", show->host_id, "Host ID")->required();
  add_command(commands, s, conn, show, host_show);

  auto allow = std::make_shared<HostAllowAutoReissue>();
  auto* a = host->add_subcommand(
      "allow-auto-reissue", "Let a host reissue once without a token for a while (at most 48h)");
  a->add_option("--host-id", allow->host_id, "Host ID")->required();
  a->add_option("--for", allow->window, "How long the window stays open, like 12h")->required();
  add_command(commands, a, conn, allow, host_allow_auto_reissue);

  auto release = std::make_shared<HostReleaseName>();
  auto* r = host->add_subcommand(
      "release-name", "Take a name from a host so that another host may enrol or reissue with it");
  r->add_option("--host-id", release->host_id, "Host ID")->required();
  r->add_option("--name", release->name, "The host name or alias to release")->required();
  r->add_flag("--revoke", release->revoke,
              "Also revoke the host's valid certificates that carry the name (without it, such "
              "certificates refuse the release)");
  r->add_option("--reason", release->reason, kReasonHelp)->capture_default_str();
  add_command(commands, r, conn, release, host_release_name);

  auto ack = std::make_shared<HostAcknowledgeFailure>();
  auto* k = host->add_subcommand(
      "acknowledge-failure",
      "Clear a host's reported certificate failure; the report and the note stay in the audit");
  k->add_option("--host-id", ack->host_id, "Host ID")->required();
  k->add_option("--note", ack->note, "What you found or did (for the audit log)")->required();
  add_command(commands, k, conn, ack, host_acknowledge_failure);
}

// -- audit

struct Audit {
  unsigned long long after = 0;
  unsigned limit = 100;
};

int audit(const Connection& conn, const Audit& o) {
  v1::ListAuditEventsRequest req;
  req.set_after_sequence(o.after);
  req.set_limit(o.limit);
  v1::ListAuditEventsResponse res;
  check(conn.admin()->ListAuditEvents(conn.context().get(), req, &res));
  for (const auto& e : res.events()) {
    if (conn.as_json) {
      std::cout << json{{"sequence", e.sequence()},
                        {"at", time_text(e.at())},
                        {"actor", e.actor()},
                        {"action", e.action()},
                        {"subject", e.subject()},
                        {"outcome", e.outcome()},
                        {"details", json::parse(e.details_json())}}
                       .dump()
                << "\n";
    } else {
      std::cout << e.sequence() << "  " << time_text(e.at()) << "  " << e.outcome() << "  "
                << e.action() << "  " << e.subject() << "  by " << e.actor() << "  "
                << e.details_json() << "\n";
    }
  }
  return 0;
}

void add_audit_command(CLI::App& app, const Connection& conn, Commands& commands) {
  auto o = std::make_shared<Audit>();
  auto* a = app.add_subcommand("audit", "Read the audit log");
  a->add_option("--after", o->after, "Only events after this sequence number");
  a->add_option("--limit", o->limit, "At most this many events")->capture_default_str();
  add_command(commands, a, conn, o, audit);
}

// -- admin-key

struct AdminKeyCreate {
  std::string name;
};

int admin_key_create(const Connection& conn, const AdminKeyCreate& o) {
  v1::CreateAdminKeyRequest req;
  req.set_name(o.name);
  v1::CreateAdminKeyResponse res;
  check(conn.admin()->CreateAdminKey(conn.context().get(), req, &res));
  if (conn.as_json) {
    std::cout << json{{"admin_key", res.admin_key()}, {"key_id", res.key_id()}}.dump() << "\n";
  } else {
    std::cout << "admin key:  " << res.admin_key() << "\n"
              << "key id:     " << res.key_id() << "\n"
              << "The key is shown only now; store it safely.\n";
  }
  return 0;
}

void add_admin_key_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* admin_key = app.add_subcommand("admin-key", "Admin keys");
  admin_key->require_subcommand(1);
  auto o = std::make_shared<AdminKeyCreate>();
  auto* c = admin_key->add_subcommand("create", "Create another admin key");
  c->add_option("--name", o->name, "Who or what uses the key")->required();
  add_command(commands, c, conn, o, admin_key_create);
}

// -- ca

struct CaStatusOptions {};

int ca_status(const Connection& conn, const CaStatusOptions&) {
  v1::GetCaStatusRequest req;
  v1::GetCaStatusResponse res;
  check(conn.admin()->GetCaStatus(conn.context().get(), req, &res));
  if (conn.as_json) {
    json keys = json::array();
    for (const auto& k : res.keys()) {
      keys.push_back({{"generation", k.generation()},
                      {"state", k.state()},
                      {"sha256_fingerprint", k.sha256_fingerprint()},
                      {"spki_sha256", k.spki_sha256()},
                      {"key_algorithm", k.key_algorithm()},
                      {"held_in", k.held_in()},
                      {"not_after", time_text(k.not_after())},
                      {"hosts_trusting", k.hosts_trusting()},
                      {"valid_certificates", k.valid_certificates()},
                      {"emergency", k.emergency()},
                      {"publishing", k.publishing()}});
    }
    std::cout << json{{"phase", res.phase()},
                      {"hosts", res.hosts()},
                      {"hosts_reporting", res.hosts_reporting()},
                      {"warning", res.warning()},
                      {"keys", keys}}
                     .dump()
              << "\n";
    return 0;
  }
  std::cout << "rollover phase: " << res.phase() << "\n"
            << "hosts reporting their trusted CA keys: " << res.hosts_reporting() << " of "
            << res.hosts() << "\n";
  if (!res.warning().empty()) std::cout << "WARNING: " << res.warning() << "\n";
  for (const auto& k : res.keys()) {
    std::cout << "CA key " << k.generation() << "  " << k.state()
              << (k.emergency() ? " (emergency)" : "") << "  " << k.key_algorithm()
              << "  not after " << time_text(k.not_after()) << "\n"
              << "  SHA-256 fingerprint: " << k.sha256_fingerprint() << "\n"
              << "  SPKI SHA-256:        " << k.spki_sha256() << "\n"
              << "  private key held in: " << k.held_in() << "\n"
              << "  hosts trusting it: " << k.hosts_trusting()
              << "  valid host certificates: " << k.valid_certificates()
              << "  CRLs published: " << (k.publishing() ? "yes" : "no") << "\n";
  }
  return 0;
}

void add_ca_commands(CLI::App& app, const Connection& conn, Commands& commands) {
  auto* ca = app.add_subcommand("ca", "The CA's keys");
  ca->require_subcommand(1);
  auto o = std::make_shared<CaStatusOptions>();
  auto* s = ca->add_subcommand(
      "status",
      "Each CA key: state, fingerprints, not-after, hosts trusting it, certificates left");
  add_command(commands, s, conn, o, ca_status);
}

void add_connection_flags(CLI::App& app, Connection& conn) {
  app.add_option("--server", conn.server, "hostca server address (host:port)")
      ->envname("HOSTCA_SERVER")
      ->capture_default_str();
  app.add_option("--ca-file", conn.ca_file, "CA certificate to trust for the server's TLS")
      ->envname("HOSTCA_CA_FILE")
      ->capture_default_str();
  app.add_option("--admin-key-file", conn.admin_key_file,
                 "File holding the admin key (else $HOSTCA_ADMIN_KEY)");
  app.add_option("--tls-server-name", conn.tls_name, "Name to expect in the server's certificate");
  app.add_flag("--plaintext", conn.plaintext, "Connect without TLS (development servers only)");
  app.add_flag("--json", conn.as_json, "Print results as JSON");
  app.add_option("--timeout", conn.timeout_seconds, "Seconds to wait for the server")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostca-admin: administer a hostca CA"};
  app.require_subcommand(1);
  Connection conn;
  add_connection_flags(app, conn);
  Commands commands;
  add_token_commands(app, conn, commands);
  add_reissue_token_commands(app, conn, commands);
  add_cert_commands(app, conn, commands);
  add_crl_commands(app, conn, commands);
  add_host_commands(app, conn, commands);
  add_audit_command(app, conn, commands);
  add_admin_key_commands(app, conn, commands);
  add_ca_commands(app, conn, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; a usage error is one line and exit 1 like any other.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "hostca-admin: " << e.what() << " (see --help)\n";
    return hostca::client::kExitFailure;
  }
  const auto chosen = std::find_if(commands.begin(), commands.end(),
                                   [](const Command& c) { return c.app->parsed(); });
  return hostca::client::run_command("hostca-admin", chosen->run);
}
