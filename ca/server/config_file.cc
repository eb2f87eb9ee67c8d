#include "server/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <map>

#include "common/error.h"
#include "common/text.h"

namespace hostca {

namespace {

using Kind = ServeSetting::Kind;

template <typename T>
using Field = T& (*)(ServeConfig&);

template <typename T>
const T& read(Field<T> field, const ServeConfig& c) {
  // The accessors only pick a member; reading through them changes nothing.
  return field(const_cast<ServeConfig&>(c));
}

ServeSetting text(std::string key, std::string flag, std::string help, Field<std::string> field,
                  std::vector<std::string> choices = {}, bool may_be_empty = true) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kText, std::move(help), {}, {}};
  s.set = [field, choices, may_be_empty](ServeConfig& c, const std::string& value) {
    if (!may_be_empty && value.empty()) throw invalid_argument("must not be empty");
    if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
      std::string list;
      for (const auto& choice : choices) list += (list.empty() ? "" : ", ") + choice;
      throw invalid_argument("'" + value + "' is not one of " + list);
    }
    field(c) = value;
  };
  s.get = [field](const ServeConfig& c) { return read(field, c); };
  return s;
}

template <typename T>
ServeSetting integer(std::string key, std::string flag, std::string help, Field<T> field,
                     long long min, long long max) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kInteger, std::move(help), {}, {}};
  s.set = [field, min, max](ServeConfig& c, const std::string& value) {
    long long n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
      throw invalid_argument("'" + value + "' is not a whole number");
    }
    if (n < min || n > max) {
      throw invalid_argument(value + " is out of range (" + std::to_string(min) + " to " +
                             std::to_string(max) + ")");
    }
    field(c) = static_cast<T>(n);
  };
  s.get = [field](const ServeConfig& c) { return std::to_string(read(field, c)); };
  return s;
}

ServeSetting boolean(std::string key, std::string flag, std::string help, Field<bool> field) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kBoolean, std::move(help), {}, {}};
  s.set = [field](ServeConfig& c, const std::string& value) {
    if (value == "true" || value == "1") {
      field(c) = true;
    } else if (value == "false" || value == "0") {
      field(c) = false;
    } else {
      throw invalid_argument("'" + value + "' is not true or false");
    }
  };
  s.get = [field](const ServeConfig& c) { return std::string(read(field, c) ? "true" : "false"); };
  return s;
}

template <typename D>
ServeSetting duration(std::string key, std::string flag, std::string help, Field<D> field,
                      Duration min = std::chrono::seconds(1)) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kDuration, std::move(help), {}, {}};
  s.set = [field, min](ServeConfig& c, const std::string& value) {
    Duration d{};
    try {
      d = parse_duration(value);
    } catch (const Error&) {
      throw invalid_argument("'" + value + "' is not a duration (use 30s, 15m, 24h, 7d)");
    }
    if (d < min) throw invalid_argument("'" + value + "' is shorter than " + format_duration(min));
    field(c) = std::chrono::duration_cast<D>(d);
  };
  s.get = [field](const ServeConfig& c) {
    return format_duration(std::chrono::duration_cast<Duration>(read(field, c)));
  };
  return s;
}

// A comma-separated list of DNS suffixes, each checked as NamePolicy does.
ServeSetting suffix_list(std::string key, std::string flag, std::string help,
                         Field<std::vector<std::string>> field) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kText, std::move(help), {}, {}};
  s.set = [field](ServeConfig& c, const std::string& value) {
    std::vector<std::string> items = split_list(value);
    NamePolicy{items}.validate();
    field(c) = std::move(items);
  };
  s.get = [field](const ServeConfig& c) {
    std::string out;
    for (const auto& item : read(field, c)) out += (out.empty() ? "" : ",") + item;
    return out;
  };
  return s;
}

// The key types hosts may use, as a list ("ecdsa-p256, ed25519").
ServeSetting key_types(std::string key, std::string flag, std::string help) {
  ServeSetting s{std::move(key), std::move(flag), Kind::kText, std::move(help), {}, {}};
  s.set = [](ServeConfig& c, const std::string& value) {
    KeyPolicy& p = c.options.authority.key_policy;
    p.allow_ecdsa_p256 = p.allow_ecdsa_p384 = p.allow_ed25519 = p.allow_rsa = false;
    for (const auto& type : split_list(value)) {
      if (type == "ecdsa-p256") {
        p.allow_ecdsa_p256 = true;
      } else if (type == "ecdsa-p384") {
        p.allow_ecdsa_p384 = true;
      } else if (type == "ed25519") {
        p.allow_ed25519 = true;
      } else if (type == "rsa") {
        p.allow_rsa = true;
      } else {
        throw invalid_argument("'" + type + "' is not one of ecdsa-p256, ecdsa-p384, ed25519, rsa");
      }
    }
  };
  s.get = [](const ServeConfig& c) {
    const KeyPolicy& p = c.options.authority.key_policy;
    std::string out;
    const auto add = [&out](bool on, const char* name) {
      if (on) out += (out.empty() ? "" : ",") + std::string(name);
    };
    add(p.allow_ecdsa_p256, "ecdsa-p256");
    add(p.allow_ecdsa_p384, "ecdsa-p384");
    add(p.allow_ed25519, "ed25519");
    add(p.allow_rsa, "rsa");
    return out;
  };
  return s;
}

std::vector<ServeSetting> make_settings() {
  std::vector<ServeSetting> s;
  s.push_back(text(
      "database.conninfo", "database", "PostgreSQL connection string (libpq keyword/value or URI)",
      [](ServeConfig & c) -> auto& { return c.options.database.conninfo; }));
  s.push_back(integer<std::size_t>(
      "database.pool_size", "pool-size", "Database connections",
      [](ServeConfig & c) -> auto& { return c.options.database.pool_size; }, 1, 1000));
  s.push_back(text(
      "ca.passphrase_file", "passphrase-file",
      "File holding the CA passphrase (else $HOSTCA_PASSPHRASE)",
      [](ServeConfig & c) -> auto& { return c.passphrase_file; }));
  s.push_back(text(
      "pkcs11.pin_file", "pkcs11-pin-file",
      "File holding the PIN of the PKCS#11 token of a CA key kept in one (else "
      "$HOSTCA_PKCS11_PIN)",
      [](ServeConfig & c) -> auto& { return c.pkcs11_pin_file; }));
  s.push_back(integer<std::size_t>(
      "pkcs11.sessions", "pkcs11-sessions",
      "PKCS#11 sessions each token-held CA key keeps open, shared by every thread",
      [](ServeConfig & c) -> auto& { return c.options.secrets.pkcs11_sessions; }, 1, 1024));
  s.push_back(text(
      "server.listen", "listen", "gRPC address",
      [](ServeConfig & c) -> auto& { return c.options.grpc_listen; }, {}, false));
  s.push_back(text(
      "server.http_listen", "http-listen", "HTTP address",
      [](ServeConfig & c) -> auto& { return c.options.http_listen; }, {}, false));
  s.push_back(text(
      "server.admin_listen", "admin-listen",
      "HTTPS address of the admin JSON API (/api/v1), with the server's TLS certificate; empty: "
      "not served",
      [](ServeConfig & c) -> auto& { return c.options.admin_listen; }));
  s.push_back(text(
      "server.console_dir", "console-dir",
      "Console development: serve the console's pages from this folder instead of the copy "
      "built in",
      [](ServeConfig & c) -> auto& { return c.options.console_dir; }));
  s.push_back(integer<int>(
      "server.http_threads", "http-threads",
      "HTTP workers: concurrent keep-alive connections served",
      [](ServeConfig & c) -> auto& { return c.options.http_threads; }, 1, 10000));
  s.push_back(text(
      "server.trusted_proxies", "trusted-proxies",
      "Proxies (addresses or CIDR blocks, comma separated) whose x-forwarded-for names the "
      "client; empty: none, the peer's address is the client's",
      [](ServeConfig & c) -> auto& { return c.options.trusted_proxies; }));
  s.back().set = [](ServeConfig& c, const std::string& value) {
    service::TrustedProxies::parse(value);  // refused here, naming the entry
    c.options.trusted_proxies = value;
  };
  s.push_back(integer<int>(
      "server.max_revocation_streams", "max-revocation-streams",
      "Concurrent WatchRevocations streams this server takes; past it, RESOURCE_EXHAUSTED",
      [](ServeConfig & c) -> auto& { return c.options.max_revocation_streams; }, 1, 100000));
  s.push_back(integer<int>(
      "server.concurrent_issuance", "concurrent-issuance",
      "Enrolments, renewals and reissues handled at once, first come first served; the others "
      "wait their turn. 0: four per core",
      [](ServeConfig & c) -> auto& { return c.options.concurrent_issuance; }, 0, 10000));
  s.push_back(text(
      "server.ready_file", "ready-file", "Write the bound ports here as JSON when ready",
      [](ServeConfig & c) -> auto& { return c.ready_file; }));
  s.push_back(text(
      "server.log_format", "log-format", "text, or json: one JSON object per line",
      [](ServeConfig & c) -> auto& { return c.log_format; }, {"text", "json"}, false));
  s.push_back(text(
      "tls.dir", "tls-dir", "Folder holding server.pem and server.key",
      [](ServeConfig & c) -> auto& { return c.tls_dir; }, {}, false));
  s.push_back(text(
      "tls.cert", "tls-cert", "TLS certificate (PEM; default: <tls-dir>/server.pem)",
      [](ServeConfig & c) -> auto& { return c.options.tls_cert_file; }));
  s.push_back(text(
      "tls.key", "tls-key", "TLS private key (PEM; default: <tls-dir>/server.key)",
      [](ServeConfig & c) -> auto& { return c.options.tls_key_file; }));
  s.push_back(boolean(
      "tls.insecure_plaintext", "insecure-plaintext", "Serve gRPC without TLS: development only",
      [](ServeConfig & c) -> auto& { return c.options.insecure_plaintext; }));
  s.push_back(duration<Duration>(
      "certificate.validity", "validity", "Validity of host certificates",
      [](ServeConfig & c) -> auto& { return c.options.profile.validity; }));
  s.push_back(text(
      "crl.base_url", "crl-base-url",
      "The CA's CRL base URL (recorded at init); when set, must be the same, else serve "
      "refuses to start",
      [](ServeConfig & c) -> auto& { return c.options.profile.crl_base_url; }));
  s.push_back(duration<Duration>(
      "crl.validity", "crl-validity", "nextUpdate - thisUpdate of every CRL",
      [](ServeConfig & c) -> auto& { return c.options.authority.crl.validity; }));
  s.push_back(duration<Duration>(
      "crl.republish_before", "crl-republish-before",
      "Republish a shard once its nextUpdate is this close",
      [](ServeConfig & c) -> auto& { return c.options.authority.crl.republish_before; }));
  s.push_back(duration<std::chrono::milliseconds>(
      "crl.check_interval", "crl-check-interval",
      "How often to look for shards due for republication",
      [](ServeConfig & c) -> auto& { return c.options.crl_check_interval; }));
  s.push_back(suffix_list(
      "names.allowed_suffixes", "allowed-name-suffixes",
      "DNS suffixes host names and aliases must lie under, comma-separated (empty: any name "
      "that is not localhost, an IP address, a wildcard or the server's own)",
      [](ServeConfig & c) -> auto& { return c.options.authority.names.allowed_suffixes; }));
  s.push_back(integer<int>(
      "token.failure_budget", "token-failure-budget",
      "Unknown tokens per client address per window; past it, unknown tokens from that "
      "address get RESOURCE_EXHAUSTED (valid ones are always accepted)",
      [](ServeConfig & c) -> auto& { return c.options.authority.token_attempts.budget; }, 1,
      1000000));
  s.push_back(duration<Duration>(
      "token.failure_window", "token-failure-window",
      "The window the unknown tokens are counted over",
      [](ServeConfig & c) -> auto& { return c.options.authority.token_attempts.window; }));
  s.push_back(duration<Duration>(
      "token.default_validity", "token-default-validity",
      "Validity of a token when its creator gives none",
      [](ServeConfig & c) -> auto& { return c.options.authority.tokens.default_valid_for; }));
  s.push_back(duration<Duration>(
      "token.max_validity", "token-max-validity", "The longest validity a token may be given",
      [](ServeConfig & c) -> auto& { return c.options.authority.tokens.max_valid_for; }));
  s.push_back(integer<std::uint32_t>(
      "token.max_uses_limit", "token-max-uses-limit",
      "The most uses an authorization token may be given",
      [](ServeConfig & c) -> auto& { return c.options.authority.tokens.max_uses_limit; }, 1,
      1000000000));
  s.push_back(key_types("keys.allowed", "allowed-key-types",
                        "Key types hosts may use: ecdsa-p256, ecdsa-p384, ed25519, rsa "
                        "(comma-separated)"));
  s.push_back(integer<std::size_t>(
      "keys.min_rsa_bits", "min-rsa-bits", "The smallest RSA key a host may use",
      [](ServeConfig & c) -> auto& { return c.options.authority.key_policy.min_rsa_bits; }, 2048,
      16384));
  s.push_back(integer<std::size_t>(
      "keys.max_rsa_bits", "max-rsa-bits", "The largest RSA key a host may use",
      [](ServeConfig & c) -> auto& { return c.options.authority.key_policy.max_rsa_bits; }, 2048,
      16384));
  s.push_back(duration<Duration>(
      "reissue.max_auto_window", "max-auto-reissue-window",
      "The longest window an admin may open for a reissue without a token (at most 48h)",
      [](ServeConfig & c) -> auto& { return c.options.authority.max_auto_reissue_window; }));
  s.push_back(integer<int>(
      "reissue.batch", "reissue-batch",
      "Reissues that keep the host's names and arrive together run as one unit of work of at "
      "most this many; 1: each alone",
      [](ServeConfig & c) -> auto& { return c.options.authority.reissue_batch; }, 1, 1000));
  s.push_back(integer<int>(
      "reissue.batches_at_once", "reissue-batches-at-once",
      "Such units of work this server runs at a time",
      [](ServeConfig & c) -> auto& { return c.options.authority.reissue_batches_at_once; }, 1, 64));
  s.push_back(integer<int>(
      "limits.max_valid_certificates_per_host", "max-valid-certificates",
      "Valid certificates a host holds at once; a renewal past it is FAILED_PRECONDITION",
      [](ServeConfig & c) -> auto& { return c.options.authority.max_valid_certificates_per_host; },
      1, 1000));
  s.push_back(integer<int>(
      "limits.failure_report_budget", "failure-report-budget",
      "Certificate-failure reports per client address (unverified) or host (verified) per "
      "minute; past it, RESOURCE_EXHAUSTED",
      [](ServeConfig & c) -> auto& { return c.options.authority.failure_reports.budget; }, 1,
      1000000));
  s.push_back(duration<Duration>(
      "limits.refusal_audit_window", "refusal-audit-window",
      "Refused calls without a credential are audited as one row per address per window",
      [](ServeConfig & c) -> auto& { return c.options.authority.refusal_audit.window; }));
  s.push_back(duration<Duration>(
      "clock.tolerance", "clock-tolerance",
      "How far this server's clock may be from the database's; past it, nothing is issued or "
      "published and /readyz fails",
      [](ServeConfig & c) -> auto& { return c.options.authority.clock.tolerance; }));
  s.push_back(duration<std::chrono::milliseconds>(
      "clock.check_interval", "clock-check-interval",
      "How often the clock is compared with the database's",
      [](ServeConfig & c) -> auto& { return c.options.clock_check_interval; }));
  s.push_back(duration<Duration>(
      "console.session_idle", "console-session-idle",
      "An admin console session ends this long after its last request (1 min to 24 h)",
      [](ServeConfig & c) -> auto& { return c.options.authority.console_sessions.idle; }));
  s.push_back(duration<Duration>(
      "console.session_max", "console-session-max",
      "An admin console session ends this long after sign-in, whatever its use (at most 7 days)",
      [](ServeConfig & c) -> auto& { return c.options.authority.console_sessions.absolute; }));
  return s;
}

const ServeSetting* find_setting(std::string_view key) {
  for (const auto& s : serve_settings()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

bool is_section(std::string_view name) {
  for (const auto& s : serve_settings()) {
    if (s.key.compare(0, s.key.find('.'), name) == 0) return true;
  }
  return false;
}

// Sets one value, naming where it came from when it is refused.
void set_from(const ServeSetting& s, ServeConfig& config, const std::string& value,
              const std::string& where) {
  try {
    s.set(config, value);
  } catch (const Error& e) {
    throw invalid_argument(where + ": " + e.what());
  }
}

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date or time";
  }
}

// The TOML value as the text a setting parses, if it has the right type.
std::string node_text(const ServeSetting& s, const toml::node& node, const std::string& where) {
  const char* expected = nullptr;
  switch (s.kind) {
    case Kind::kText:
    case Kind::kDuration:
      if (const auto* v = node.as_string()) return v->get();
      expected = s.kind == Kind::kText ? "a string" : "a duration string such as \"24h\"";
      break;
    case Kind::kInteger:
      if (const auto* v = node.as_integer()) return std::to_string(v->get());
      expected = "an integer";
      break;
    case Kind::kBoolean:
      if (const auto* v = node.as_boolean()) return v->get() ? "true" : "false";
      expected = "true or false";
      break;
  }
  throw invalid_argument(where + ": expected " + expected + ", got " + type_name(node.type()));
}

}  // namespace

ServeConfig::ServeConfig() {
  // Empty: the CA's, recorded at init.
  options.profile.crl_base_url.clear();
}

std::string ServeSetting::env_name() const {
  std::string name = "HOSTCA_";
  for (char ch : key) {
    name += ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return name;
}

const std::vector<ServeSetting>& serve_settings() {
  static const std::vector<ServeSetting> settings = make_settings();
  return settings;
}

std::string format_duration(Duration d) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (seconds > 86400 && seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds != 0 && seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds != 0 && seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

void apply_config_text(ServeConfig& config, const std::string& file_name, const std::string& text) {
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    std::string description(e.description());
    std::replace(description.begin(), description.end(), '\n', ' ');  // one line
    throw invalid_argument(file_name + ":" + std::to_string(e.source().begin.line) + ":" +
                           std::to_string(e.source().begin.column) + ": " + description);
  }
  for (const auto& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    if (!is_section(section)) throw invalid_argument(file_name + ": unknown key '" + section + "'");
    const toml::table* table = section_node.as_table();
    if (table == nullptr) {
      throw invalid_argument(file_name + ": " + section + ": expected a table [" + section +
                             "], got " + type_name(section_node.type()));
    }
    for (const auto& [name, node] : *table) {
      const std::string key = section + "." + std::string(name.str());
      const ServeSetting* s = find_setting(key);
      if (s == nullptr) throw invalid_argument(file_name + ": unknown key '" + key + "'");
      const std::string where = file_name + ": " + key;
      set_from(*s, config, node_text(*s, node, where), where);
    }
  }
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

void apply_environment(ServeConfig& config, const Environment& env) {
  for (const auto& s : serve_settings()) {
    const std::string name = s.env_name();
    const auto value = env(name);
    if (value && !value->empty()) set_from(s, config, *value, name);
  }
}

void apply_flags(ServeConfig& config, const std::vector<FlagValue>& flags) {
  for (const auto& f : flags) {
    const ServeSetting* s = find_setting(f.key);
    if (s == nullptr) throw internal_error("no setting " + f.key);
    set_from(*s, config, f.value, "--" + s->flag);
  }
}

ServeConfig load_serve_config(const std::optional<ConfigFile>& file, const Environment& env,
                              const std::vector<FlagValue>& flags) {
  ServeConfig config;
  if (file) apply_config_text(config, file->name, file->text);
  apply_environment(config, env);
  apply_flags(config, flags);
  return config;
}

}  // namespace hostca
