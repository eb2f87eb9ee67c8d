#include "server/config_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"

namespace hostca {
namespace {

using namespace std::chrono_literals;

Environment no_env() {
  return [](const std::string&) { return std::optional<std::string>(); };
}

Environment env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ServeConfig from_text(const std::string& text) {
  return load_serve_config(ConfigFile{"hostca.toml", text}, no_env(), {});
}

// The one-line message a bad file gets.
std::string error_of(const std::string& text) {
  try {
    from_text(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    return e.what();
  }
  return "(no error)";
}

const char* kFull = R"(
[database]
conninfo = "host=/var/run/postgresql dbname=hostca"
pool_size = 16

[ca]
passphrase_file = "/etc/hostca/passphrase"

[pkcs11]
pin_file = "/etc/hostca/pkcs11-pin"
sessions = 16

[server]
listen = "0.0.0.0:9443"
http_listen = "0.0.0.0:9080"
admin_listen = "127.0.0.1:9444"
console_dir = "/srv/hostca-console"
http_threads = 32
ready_file = "/run/hostca/ready.json"
log_format = "json"
trusted_proxies = "10.0.0.0/8, 2001:db8::1"
max_revocation_streams = 50
concurrent_issuance = 6

[tls]
dir = "/var/lib/hostca/tls"
cert = "/etc/hostca/server.pem"
key = "/etc/hostca/server.key"
insecure_plaintext = true

[certificate]
validity = "90d"

[crl]
base_url = "http://crl.example/crl"
validity = "48h"
republish_before = "6h"
check_interval = "15s"

[token]
failure_budget = 5
failure_window = "10m"
default_validity = "8h"
max_validity = "30d"
max_uses_limit = 500

[limits]
max_valid_certificates_per_host = 2
failure_report_budget = 4
refusal_audit_window = "5m"

[clock]
tolerance = "5s"
check_interval = "30s"

[names]
allowed_suffixes = "example.com, corp.example"

[keys]
allowed = "ecdsa-p384, rsa"
min_rsa_bits = 3072
max_rsa_bits = 4096

[reissue]
max_auto_window = "12h"
batch = 8
batches_at_once = 3

[console]
session_idle = "10m"
session_max = "8h"
)";

TEST(ConfigFile, AFullFileParsesIntoTheRightValues) {
  const ServeConfig c = from_text(kFull);
  EXPECT_EQ(c.options.database.conninfo, "host=/var/run/postgresql dbname=hostca");
  EXPECT_EQ(c.options.database.pool_size, 16u);
  EXPECT_EQ(c.passphrase_file, "/etc/hostca/passphrase");
  EXPECT_EQ(c.pkcs11_pin_file, "/etc/hostca/pkcs11-pin");
  EXPECT_EQ(c.options.secrets.pkcs11_sessions, 16u);
  EXPECT_EQ(c.options.grpc_listen, "0.0.0.0:9443");
  EXPECT_EQ(c.options.http_listen, "0.0.0.0:9080");
  EXPECT_EQ(c.options.http_threads, 32);
  EXPECT_EQ(c.ready_file, "/run/hostca/ready.json");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_EQ(c.tls_dir, "/var/lib/hostca/tls");
  EXPECT_EQ(c.options.tls_cert_file, "/etc/hostca/server.pem");
  EXPECT_EQ(c.options.tls_key_file, "/etc/hostca/server.key");
  EXPECT_TRUE(c.options.insecure_plaintext);
  EXPECT_EQ(c.options.profile.validity, Duration(90 * 24h));
  EXPECT_EQ(c.options.profile.crl_base_url, "http://crl.example/crl");
  EXPECT_EQ(c.options.authority.crl.validity, Duration(48h));
  EXPECT_EQ(c.options.authority.crl.republish_before, Duration(6h));
  EXPECT_EQ(c.options.crl_check_interval, std::chrono::milliseconds(15s));
  EXPECT_EQ(c.options.authority.token_attempts.budget, 5);
  EXPECT_EQ(c.options.authority.token_attempts.window, Duration(10min));
  EXPECT_EQ(c.options.trusted_proxies, "10.0.0.0/8, 2001:db8::1");
  EXPECT_EQ(c.options.max_revocation_streams, 50);
  EXPECT_EQ(c.options.concurrent_issuance, 6);
  EXPECT_EQ(c.options.authority.max_valid_certificates_per_host, 2);
  EXPECT_EQ(c.options.authority.failure_reports.budget, 4);
  EXPECT_EQ(c.options.authority.refusal_audit.window, Duration(5min));
  EXPECT_EQ(c.options.authority.clock.tolerance, Duration(5s));
  EXPECT_EQ(c.options.clock_check_interval, std::chrono::milliseconds(30s));
  EXPECT_EQ(c.options.authority.names.allowed_suffixes,
            (std::vector<std::string>{"example.com", "corp.example"}));
  EXPECT_EQ(c.options.authority.tokens.default_valid_for, Duration(8h));
  EXPECT_EQ(c.options.authority.tokens.max_valid_for, Duration(30 * 24h));
  EXPECT_EQ(c.options.authority.tokens.max_uses_limit, 500u);
  const KeyPolicy& keys = c.options.authority.key_policy;
  EXPECT_FALSE(keys.allow_ecdsa_p256);
  EXPECT_TRUE(keys.allow_ecdsa_p384);
  EXPECT_FALSE(keys.allow_ed25519);
  EXPECT_TRUE(keys.allow_rsa);
  EXPECT_EQ(keys.min_rsa_bits, 3072u);
  EXPECT_EQ(keys.max_rsa_bits, 4096u);
  EXPECT_EQ(c.options.authority.max_auto_reissue_window, Duration(12h));
  EXPECT_EQ(c.options.authority.reissue_batch, 8);
  EXPECT_EQ(c.options.authority.reissue_batches_at_once, 3);
}

TEST(ConfigFile, ValidationIsWhatServeRefusesNamingTheSetting) {
  // Each parses, but serve (and `config check`) refuses it.
  for (const auto& [text, setting] : std::vector<std::pair<std::string, std::string>>{
           {"[keys]\nallowed = \"\"\n", "keys"},
           {"[keys]\nmin_rsa_bits = 4096\nmax_rsa_bits = 3072\n", "keys.max_rsa_bits"},
           {"[token]\ndefault_validity = \"2d\"\nmax_validity = \"1d\"\n", "token.max_validity"},
           {"[reissue]\nmax_auto_window = \"49h\"\n", "reissue.max_auto_window"},
           {"[console]\nsession_idle = \"2h\"\nsession_max = \"1h\"\n", "console.session_max"},
           {"[server]\nlisten = \"nowhere\"\n", "server.listen"},
           {"[server]\nadmin_listen = \"nowhere\"\n", "server.admin_listen"},
           {"[crl]\nbase_url = \"http://0.0.0.0/crl\"\n", "crl base URL"},
       }) {
    const ServeConfig c = from_text(text);
    try {
      c.options.validate();
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument) << text;
      EXPECT_NE(std::string(e.what()).find(setting), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(from_text("").options.validate());
}

TEST(ConfigFile, TheAdminApiIsRefusedWithoutTls) {
  ServeConfig c = from_text("[server]\nadmin_listen = \"127.0.0.1:0\"\n");
  EXPECT_EQ(c.options.admin_listen, "127.0.0.1:0");
  EXPECT_NO_THROW(c.options.validate());
  c.options.insecure_plaintext = true;
  try {
    c.options.validate();
    FAIL() << "accepted the admin API without TLS";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("TLS only"), std::string::npos) << e.what();
  }
}

TEST(ConfigFile, AnUnknownKeyTypeIsRefusedWhenRead) {
  EXPECT_NE(error_of("[keys]\nallowed = \"ecdsa-p256, dsa\"\n").find("'dsa' is not one of"),
            std::string::npos);
}

TEST(ConfigFile, RefusesAnAllowedSuffixThatIsNoDnsName) {
  for (const char* bad : {"*.example.com", "Example.COM", "10.0.0.0", "localhost", "a..b"}) {
    const std::string text = std::string("[names]\nallowed_suffixes = \"") + bad + "\"\n";
    const std::string msg = error_of(text);
    EXPECT_NE(msg.find("names.allowed_suffixes"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(ConfigFile, ABadTrustedProxyIsRefusedNamingTheKey) {
  try {
    from_text("[server]\ntrusted_proxies = \"10.0.0.0/8, proxy.example\"\n");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("server.trusted_proxies"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("proxy.example"), std::string::npos) << e.what();
  }
}

TEST(ConfigFile, EverySettingIsInTheFullFile) {
  // Each setting parsed above differs from its default, so none was missed.
  const ServeConfig defaults, c = from_text(kFull);
  for (const auto& s : serve_settings()) {
    EXPECT_NE(s.get(c), s.get(defaults)) << s.key;
  }
}

TEST(ConfigFile, DefaultsWhenAbsent) {
  const ServeConfig c = from_text("");
  EXPECT_EQ(c.options.database.conninfo, "");
  EXPECT_EQ(c.options.database.pool_size, 8u);
  EXPECT_EQ(c.passphrase_file, "");
  EXPECT_EQ(c.options.grpc_listen, "127.0.0.1:8443");
  EXPECT_EQ(c.options.http_listen, "127.0.0.1:8080");
  EXPECT_EQ(c.options.http_threads, 64);
  EXPECT_EQ(c.log_format, "text");
  EXPECT_EQ(c.tls_dir, "./tls");
  EXPECT_FALSE(c.options.insecure_plaintext);
  EXPECT_EQ(c.options.profile.validity, Duration(365 * 24h));
  EXPECT_EQ(c.options.profile.crl_base_url, "");
  EXPECT_EQ(c.options.authority.crl.validity, Duration(24h));
  EXPECT_EQ(c.options.authority.crl.republish_before, Duration(12h));
  EXPECT_EQ(c.options.crl_check_interval, std::chrono::milliseconds(30s));
  EXPECT_EQ(c.options.authority.token_attempts.budget, 20);
  EXPECT_EQ(c.options.authority.token_attempts.window, Duration(60s));

  // A file that sets one key leaves the others at their defaults.
  const ServeConfig one = from_text("[database]\npool_size = 3\n");
  EXPECT_EQ(one.options.database.pool_size, 3u);
  EXPECT_EQ(one.options.grpc_listen, "127.0.0.1:8443");
  EXPECT_EQ(one.options.authority.crl.validity, Duration(24h));
}

TEST(ConfigFile, EachBadValueNamesItsKeyAndTheFile) {
  EXPECT_EQ(error_of("[crl]\nvalidity = \"5x\"\n"),
            "hostca.toml: crl.validity: '5x' is not a duration (use 30s, 15m, 24h, 7d)");
  EXPECT_EQ(error_of("[crl]\ncheck_interval = \"0s\"\n"),
            "hostca.toml: crl.check_interval: '0s' is shorter than 1s");
  EXPECT_EQ(error_of("[database]\npool_size = \"16\"\n"),
            "hostca.toml: database.pool_size: expected an integer, got a string");
  EXPECT_EQ(error_of("[database]\npool_size = 0\n"),
            "hostca.toml: database.pool_size: 0 is out of range (1 to 1000)");
  EXPECT_EQ(error_of("[server]\nlog_format = \"xml\"\n"),
            "hostca.toml: server.log_format: 'xml' is not one of text, json");
  EXPECT_EQ(error_of("[server]\nlisten = \"\"\n"), "hostca.toml: server.listen: must not be empty");
  EXPECT_EQ(error_of("[tls]\ninsecure_plaintext = \"yes\"\n"),
            "hostca.toml: tls.insecure_plaintext: expected true or false, got a string");
  EXPECT_EQ(error_of("[certificate]\nvalidity = 365\n"),
            "hostca.toml: certificate.validity: expected a duration string such as \"24h\", got "
            "an integer");
  EXPECT_EQ(error_of("database = \"x\"\n"),
            "hostca.toml: database: expected a table [database], got a string");
  // Every setting refuses a value of the wrong type, naming itself.
  for (const auto& s : serve_settings()) {
    const auto section = s.key.substr(0, s.key.find('.'));
    const auto name = s.key.substr(s.key.find('.') + 1);
    const std::string value = s.kind == ServeSetting::Kind::kText ? "1.5" : "[1]";
    const std::string message = error_of("[" + section + "]\n" + name + " = " + value + "\n");
    EXPECT_EQ(message.rfind("hostca.toml: " + s.key + ": expected ", 0), 0u) << message;
  }
}

TEST(ConfigFile, AnUnknownKeyIsRefused) {
  EXPECT_EQ(error_of("[crl]\nvalidty = \"24h\"\n"), "hostca.toml: unknown key 'crl.validty'");
  EXPECT_EQ(error_of("[crls]\nvalidity = \"24h\"\n"), "hostca.toml: unknown key 'crls'");
  EXPECT_EQ(error_of("[crl.extra]\nvalidity = \"24h\"\n"), "hostca.toml: unknown key 'crl.extra'");
}

TEST(ConfigFile, ASyntaxErrorNamesTheFileAndLine) {
  const std::string message = error_of("[database]\npool_size = = 3\n");
  EXPECT_EQ(message.rfind("hostca.toml:2:", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(ConfigFile, EnvironmentOverridesTheFileAndFlagsOverrideBoth) {
  const ConfigFile file{"hostca.toml",
                        "[database]\npool_size = 16\nconninfo = \"dbname=file\"\n"
                        "[crl]\nvalidity = \"48h\"\n"};
  const auto env = env_of({{"HOSTCA_DATABASE_POOL_SIZE", "4"},
                           {"HOSTCA_CRL_VALIDITY", "36h"},
                           {"HOSTCA_SERVER_LISTEN", ""}});  // empty: not set
  const ServeConfig c = load_serve_config(file, env, {{"crl.validity", "12h"}});
  EXPECT_EQ(c.options.database.pool_size, 4u);                 // env over file
  EXPECT_EQ(c.options.database.conninfo, "dbname=file");       // file
  EXPECT_EQ(c.options.authority.crl.validity, Duration(12h));  // flag over env and file
  EXPECT_EQ(c.options.grpc_listen, "127.0.0.1:8443");          // default

  const ServeConfig no_file = load_serve_config(std::nullopt, env, {});
  EXPECT_EQ(no_file.options.database.pool_size, 4u);
}

TEST(ConfigFile, ABadEnvironmentValueOrFlagNamesItself) {
  try {
    load_serve_config(std::nullopt, env_of({{"HOSTCA_CRL_VALIDITY", "5x"}}), {});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "HOSTCA_CRL_VALIDITY: '5x' is not a duration (use 30s, 15m, 24h, 7d)");
  }
  try {
    load_serve_config(std::nullopt, no_env(), {{"database.pool_size", "many"}});
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--pool-size: 'many' is not a whole number");
  }
}

TEST(ConfigFile, EnvironmentNamesFollowTheKeys) {
  std::map<std::string, std::string> names;
  for (const auto& s : serve_settings()) names[s.key] = s.env_name();
  EXPECT_EQ(names.at("database.pool_size"), "HOSTCA_DATABASE_POOL_SIZE");
  EXPECT_EQ(names.at("crl.check_interval"), "HOSTCA_CRL_CHECK_INTERVAL");
  // Not HOSTCA_PASSPHRASE, which holds the passphrase itself.
  EXPECT_EQ(names.at("ca.passphrase_file"), "HOSTCA_CA_PASSPHRASE_FILE");
}

TEST(ConfigFile, TheExampleFileParsesAndEqualsTheDefaults) {
  // HOSTCA_TEST_DATA is <source>/tests/data, which need not exist: cut the
  // text rather than walk up the folders.
  std::string source = HOSTCA_TEST_DATA;
  source.erase(source.rfind("/tests/data"));
  std::ifstream in(source + "/deploy/hostca.toml.example");
  ASSERT_TRUE(in) << "deploy/hostca.toml.example not found";
  std::stringstream text;
  text << in.rdbuf();
  const ServeConfig defaults;
  const ServeConfig example = from_text(text.str());
  for (const auto& s : serve_settings()) {
    EXPECT_EQ(s.get(example), s.get(defaults)) << s.key;
    // Every key is written out, not left to its default.
    EXPECT_NE(text.str().find("\n" + s.key.substr(s.key.find('.') + 1) + " = "), std::string::npos)
        << s.key << " is missing from the example";
  }
}

TEST(ConfigFile, DurationsAreWrittenInTheirLargestUnit) {
  EXPECT_EQ(format_duration(24h), "24h");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(12h), "12h");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(60s), "1m");
}

}  // namespace
}  // namespace hostca
