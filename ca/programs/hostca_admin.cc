// hostca-admin: tokens, hosts, revocations, the audit log and admin keys,
// over the AdminService with an admin key; the CRLs over the RevocationService.
#include <cstdlib>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "agent/crl_bundle.h"
#include "client/channel.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/files.h"
#include "domain/revocation_reason.h"
#include "hostca/v1/admin.grpc.pb.h"
#include "hostca/v1/revocation.grpc.pb.h"

namespace {

using hostca::client::describe;
using json = nlohmann::json;
namespace v1 = hostca::v1;

// A failed call: the one line the CLI prints before exiting non-zero.
struct CallFailed {
  std::string line;
};

struct Connection {
  std::string server = "127.0.0.1:8443";
  std::string ca_file = "./tls/ca.pem";
  std::string admin_key_file;
  std::string tls_name;
  bool plaintext = false;
  bool as_json = false;
  int timeout_seconds = 15;

  std::shared_ptr<grpc::Channel> channel() const {
    hostca::client::Endpoint e;
    e.address = server;
    e.plaintext = plaintext;
    if (!plaintext) e.ca_pem = hostca::read_file(ca_file, "the CA certificate");
    e.tls_name_override = tls_name;
    return hostca::client::open_channel(e);
  }

  std::unique_ptr<grpc::ClientContext> context() const {
    std::string key;
    if (!admin_key_file.empty()) {
      key = hostca::read_file(admin_key_file, "the admin key file");
    } else if (const char* env = std::getenv("HOSTCA_ADMIN_KEY")) {
      key = env;
    } else {
      throw hostca::failed_precondition(
          "no admin key: give --admin-key-file or set HOSTCA_ADMIN_KEY");
    }
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
      key.pop_back();
    }
    auto ctx = hostca::client::call_context(std::chrono::seconds(timeout_seconds));
    ctx->AddMetadata("authorization", "Bearer " + key);
    return ctx;
  }
};

void check(const grpc::Status& status) {
  if (!status.ok()) throw CallFailed{describe(status)};
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
          {"host_id", t.host_id()}};
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hostca-admin: administer a hostca CA"};
  app.require_subcommand(1);
  Connection conn;
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

  auto* token = app.add_subcommand("token", "Authorization tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create an authorization token");
  std::string name, reason, valid_for;
  unsigned max_uses = 1;
  token_create->add_option("--name", name, "What the token is for")->required();
  token_create->add_option("--max-uses", max_uses, "How many hosts may enrol with it")
      ->capture_default_str();
  token_create->add_option("--valid-for", valid_for, "Validity, like 24h or 7d (default 24h)");
  token_create->add_option("--reason", reason, "Why it was created");
  auto* token_list = token->add_subcommand("list", "List tokens");
  bool include_deleted = false;
  token_list->add_flag("--all", include_deleted, "Include deleted tokens");
  auto* token_delete =
      token->add_subcommand("delete", "Delete a token so it can no longer be used");
  std::string token_id;
  token_delete->add_option("--id", token_id, "Token ID (from token list)")->required();

  auto* reissue_token = app.add_subcommand("reissue-token", "Reissue tokens");
  reissue_token->require_subcommand(1);
  auto* reissue_token_create =
      reissue_token->add_subcommand("create", "Create a single-use reissue token for one host");
  std::string reissue_host_id, reissue_valid_for, reissue_reason;
  reissue_token_create->add_option("--host-id", reissue_host_id, "Host ID the token is for")
      ->required();
  reissue_token_create->add_option("--valid-for", reissue_valid_for,
                                   "Validity, like 24h or 7d (default 24h)");
  reissue_token_create->add_option("--reason", reissue_reason, "Why it was created");

  auto* cert = app.add_subcommand("cert", "Certificates");
  cert->require_subcommand(1);
  auto* cert_revoke = cert->add_subcommand(
      "revoke", "Revoke one certificate, or every certificate of a host, and publish the CRL");
  std::string revoke_serial, revoke_host_id, revoke_reason = "unspecified";
  auto* revoke_target = cert_revoke->add_option_group("target", "What to revoke (exactly one)");
  auto* revoke_serial_opt = revoke_target->add_option("--serial", revoke_serial,
                                                      "Serial number of the certificate (hex)");
  auto* revoke_host_opt = revoke_target->add_option("--host-id", revoke_host_id,
                                                    "Revoke every certificate of this host");
  revoke_serial_opt->excludes(revoke_host_opt);
  revoke_host_opt->excludes(revoke_serial_opt);
  revoke_target->require_option(1);
  cert_revoke
      ->add_option("--reason", revoke_reason,
                   "RFC 5280 reason: unspecified, keyCompromise, cACompromise, "
                   "affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, or "
                   "its number")
      ->capture_default_str();

  auto* crl = app.add_subcommand("crl", "Certificate revocation lists");
  crl->require_subcommand(1);
  auto* crl_show = crl->add_subcommand("show", "Show the current CRL of one shard or of all");
  std::optional<unsigned> crl_shard;
  bool crl_entries = false;
  crl_show->add_option("--shard", crl_shard, "Only this shard (default: every shard)");
  crl_show->add_flag("--entries", crl_entries, "List each entry: serial, revocation date, reason");

  auto* host = app.add_subcommand("host", "Hosts");
  host->require_subcommand(1);
  auto* host_list = host->add_subcommand("list", "List hosts");
  std::string name_filter;
  host_list->add_option("--name", name_filter, "Only hosts whose name contains this");
  auto* host_show = host->add_subcommand("show", "Show a host and its certificates");
  std::string host_id;
  host_show->add_option("--host-id", host_id, "Host ID")->required();
  auto* host_allow = host->add_subcommand(
      "allow-auto-reissue", "Let a host reissue once without a token for a while (at most 48h)");
  std::string allow_host_id, allow_for;
  host_allow->add_option("--host-id", allow_host_id, "Host ID")->required();
  host_allow->add_option("--for", allow_for, "How long the window stays open, like 12h")
      ->required();

  auto* audit = app.add_subcommand("audit", "Read the audit log");
  unsigned long long after = 0;
  unsigned limit = 100;
  audit->add_option("--after", after, "Only events after this sequence number");
  audit->add_option("--limit", limit, "At most this many events")->capture_default_str();

  auto* admin_key = app.add_subcommand("admin-key", "Admin keys");
  admin_key->require_subcommand(1);
  auto* admin_key_create = admin_key->add_subcommand("create", "Create another admin key");
  std::string key_name;
  admin_key_create->add_option("--name", key_name, "Who or what uses the key")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and succeeds; a usage error is one line and exit 1 like any other.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "hostca-admin: " << e.what() << " (see --help)\n";
    return 1;
  }

  try {
    const auto channel = conn.channel();
    const auto stub = v1::AdminService::NewStub(channel);
    if (token_create->parsed()) {
      v1::CreateAuthorizationTokenRequest req;
      req.set_name(name);
      req.set_max_uses(max_uses);
      req.set_reason(reason);
      if (!valid_for.empty()) *req.mutable_valid_for() = duration_of(valid_for);
      v1::CreateTokenResponse res;
      check(stub->CreateAuthorizationToken(conn.context().get(), req, &res));
      print_created_token(res, conn.as_json);
    } else if (reissue_token_create->parsed()) {
      v1::CreateReissueTokenRequest req;
      req.set_host_id(reissue_host_id);
      req.set_reason(reissue_reason);
      if (!reissue_valid_for.empty()) *req.mutable_valid_for() = duration_of(reissue_valid_for);
      v1::CreateTokenResponse res;
      check(stub->CreateReissueToken(conn.context().get(), req, &res));
      print_created_token(res, conn.as_json);
    } else if (cert_revoke->parsed()) {
      v1::RevokeCertificateRequest req;
      if (!revoke_serial.empty()) {
        req.set_serial_hex(serial_text(revoke_serial));
      } else {
        req.set_host_id(revoke_host_id);
      }
      req.set_reason(static_cast<unsigned>(hostca::parse_revocation_reason(revoke_reason)));
      v1::RevokeCertificateResponse res;
      check(stub->RevokeCertificate(conn.context().get(), req, &res));
      const std::vector<std::string> serials(res.revoked_serials_hex().begin(),
                                             res.revoked_serials_hex().end());
      if (conn.as_json) {
        std::cout << json{{"revoked_serials_hex", serials}}.dump() << "\n";
      } else {
        for (const auto& serial : serials) std::cout << serial << "\n";
        if (serials.empty()) std::cerr << "no certificate was revoked\n";
      }
    } else if (host_allow->parsed()) {
      v1::AllowAutoReissueRequest req;
      req.set_host_id(allow_host_id);
      *req.mutable_valid_for() = duration_of(allow_for);
      v1::AllowAutoReissueResponse res;
      check(stub->AllowAutoReissue(conn.context().get(), req, &res));
      if (conn.as_json) {
        std::cout << json{{"host_id", req.host_id()}, {"until", time_text(res.until())}}.dump()
                  << "\n";
      } else {
        std::cout << "host " << req.host_id() << " may reissue once without a token until "
                  << time_text(res.until()) << "\n";
      }
    } else if (crl_show->parsed()) {
      v1::GetCRLRequest req;
      if (crl_shard) req.set_shard(*crl_shard);
      v1::GetCRLResponse res;
      // CRLs are public: the call carries no admin key.
      check(v1::RevocationService::NewStub(channel)->GetCRL(
          hostca::client::call_context(std::chrono::seconds(conn.timeout_seconds)).get(), req,
          &res));
      print_crls(res, crl_entries, conn.as_json);
    } else if (token_list->parsed()) {
      v1::ListTokensRequest req;
      req.set_include_deleted(include_deleted);
      v1::ListTokensResponse res;
      check(stub->ListTokens(conn.context().get(), req, &res));
      json all = json::array();
      for (const auto& t : res.tokens()) all.push_back(token_json(t));
      if (conn.as_json) {
        std::cout << all.dump() << "\n";
      } else {
        for (const auto& t : res.tokens()) {
          std::cout << t.token_id() << "  " << t.kind() << "  " << t.state() << "  uses "
                    << t.uses() << "/" << t.max_uses() << "  expires " << time_text(t.expires_at())
                    << "  " << t.name() << "\n";
        }
      }
    } else if (token_delete->parsed()) {
      v1::DeleteTokenRequest req;
      req.set_token_id(token_id);
      v1::DeleteTokenResponse res;
      check(stub->DeleteToken(conn.context().get(), req, &res));
      std::cout << "token " << token_id << " deleted\n";
    } else if (host_list->parsed()) {
      v1::ListHostsRequest req;
      req.set_hostname_contains(name_filter);
      v1::ListHostsResponse res;
      check(stub->ListHosts(conn.context().get(), req, &res));
      if (conn.as_json) {
        json all = json::array();
        for (const auto& h : res.hosts()) all.push_back(host_json(h));
        std::cout << all.dump() << "\n";
      } else {
        for (const auto& h : res.hosts()) {
          std::cout << h.host_id() << "  " << h.hostname() << "  "
                    << (h.has_valid_certificate() ? "valid" : "no valid certificate");
          if (h.has_current_certificate()) {
            std::cout << "  serial " << h.current_certificate().serial_hex() << "  not after "
                      << time_text(h.current_certificate().not_after());
          }
          if (h.has_certificate_failure_at()) {
            std::cout << "  CERTIFICATE FAILURE ("
                      << (h.certificate_failure_verified() ? "verified" : "unverified")
                      << ") reported " << time_text(h.certificate_failure_at()) << ": "
                      << h.certificate_failure_detail();
          }
          std::cout << "\n";
        }
      }
    } else if (host_show->parsed()) {
      v1::GetHostRequest req;
      req.set_host_id(host_id);
      v1::GetHostResponse res;
      check(stub->GetHost(conn.context().get(), req, &res));
      json j = host_json(res.host());
      j["certificates"] = json::array();
      for (const auto& c : res.certificates()) j["certificates"].push_back(certificate_json(c));
      std::cout << j.dump(conn.as_json ? -1 : 2) << "\n";
    } else if (audit->parsed()) {
      v1::ListAuditEventsRequest req;
      req.set_after_sequence(after);
      req.set_limit(limit);
      v1::ListAuditEventsResponse res;
      check(stub->ListAuditEvents(conn.context().get(), req, &res));
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
    } else if (admin_key_create->parsed()) {
      v1::CreateAdminKeyRequest req;
      req.set_name(key_name);
      v1::CreateAdminKeyResponse res;
      check(stub->CreateAdminKey(conn.context().get(), req, &res));
      if (conn.as_json) {
        std::cout << json{{"admin_key", res.admin_key()}, {"key_id", res.key_id()}}.dump() << "\n";
      } else {
        std::cout << "admin key:  " << res.admin_key() << "\n"
                  << "key id:     " << res.key_id() << "\n"
                  << "The key is shown only now; store it safely.\n";
      }
    }
  } catch (const CallFailed& e) {
    std::cerr << "hostca-admin: " << e.line << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hostca-admin: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
