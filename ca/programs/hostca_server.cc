// hostca-server: init (bootstrap a CA), serve, migrate, admin-key, ca rollover.
#include <signal.h>

#include <cstdlib>
#include <iostream>

#include <botan/system_rng.h>
#include <grpc/support/log.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "domain/authority.h"
#include "domain/bootstrap.h"
#include "domain/ca_rollover.h"
#include "pki/pkcs11_key.h"
#include "pki/revocation_reason.h"
#include "server/ca_server.h"
#include "server/config_file.h"
#include "server/json_log.h"
#include "server/passphrase.h"
#include "store/migrator.h"
#include "store/pg_store.h"

namespace {

using namespace hostca;

struct DatabaseFlags {
  std::string conninfo;
  void add(CLI::App* app) {
    app->add_option("--database", conninfo,
                    "PostgreSQL connection string (libpq keyword/value or URI)")
        ->envname("HOSTCA_DATABASE")
        ->required();
  }
};

// Where a new CA key goes: encrypted into the database (software), or into
// a PKCS#11 token (an HSM).
struct SignerFlags {
  std::string signer = "software";
  std::string module, token_label, key_label, pin_file;

  void add(CLI::App* app) {
    app->add_option("--signer", signer,
                    "Where the CA key is: software (encrypted in the database with the "
                    "passphrase) or pkcs11 (in a PKCS#11 token, never leaving it)")
        ->check(CLI::IsMember({"software", "pkcs11"}))
        ->capture_default_str();
    app->add_option("--pkcs11-module", module,
                    "Path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so");
    app->add_option("--pkcs11-token-label", token_label, "Label of the token that holds the key");
    app->add_option("--pkcs11-key-label", key_label,
                    "Label of the CA key in the token: the key there, else a new one made there");
    app->add_option("--pkcs11-pin-file", pin_file,
                    "File holding the token's user PIN (else $HOSTCA_PKCS11_PIN)");
  }

  // The token for --signer pkcs11 (its PIN read), nullopt for software.
  std::optional<Pkcs11KeyOptions> token() const {
    if (signer != "pkcs11") {
      if (!module.empty() || !token_label.empty() || !key_label.empty()) {
        throw invalid_argument(
            "--pkcs11-module, --pkcs11-token-label and --pkcs11-key-label "
            "need --signer pkcs11");
      }
      return std::nullopt;
    }
    if (module.empty() || token_label.empty() || key_label.empty()) {
      throw invalid_argument(
          "--signer pkcs11 needs --pkcs11-module, --pkcs11-token-label and "
          "--pkcs11-key-label");
    }
    Pkcs11KeyOptions o;
    o.module_path = module;
    o.token_label = token_label;
    o.key_label = key_label;
    o.pin = read_pkcs11_pin(pin_file);
    o.max_sessions = 2;
    return o;
  }
};

void run_migrations(const std::string& conninfo) {
  const auto applied = store::Migrator(conninfo).apply();
  for (const auto& name : applied) spdlog::info("applied migration {}", name);
}

int cmd_init(const DatabaseFlags& db, const std::string& passphrase_file, const SignerFlags& signer,
             const std::string& tls_dir, const std::vector<std::string>& names,
             const std::string& algorithm, int shards, const std::string& common_name,
             const std::string& validity, const std::string& crl_base_url) {
  InitOptions options;
  if (!crl_base_url.empty()) {
    options.profile.crl_base_url = crl_base_url;
  } else if (const auto derived = default_crl_base_url(names)) {
    options.profile.crl_base_url = *derived;
  } else {
    throw invalid_argument(
        "give --crl-base-url: the URL relying parties fetch this CA's CRLs from (e.g. "
        "http://ca.example.com:8080/crl); it goes into every certificate and never changes");
  }
  options.profile.validate();
  if (!algorithm.empty()) options.algorithm = parse_ca_key_algorithm(algorithm);
  options.pkcs11 = signer.token();
  if (!options.pkcs11) {
    options.passphrase = read_passphrase(passphrase_file);
  } else if (!passphrase_file.empty()) {
    throw invalid_argument(
        "--passphrase-file is for a software CA key; a key in a PKCS#11 "
        "token is unlocked by its PIN (--pkcs11-pin-file)");
  }
  options.server_names = names;
  options.crl_shards = shards;
  options.ca.common_name = common_name;
  options.ca.validity = parse_duration(validity);
  // A token that cannot be reached or a PIN it refuses stops init before
  // it writes anything, the schema included.
  if (options.pkcs11) {
    check_token_key_options(*options.pkcs11);
    Pkcs11Key::check_access(*options.pkcs11);
  }
  make_private_dir(tls_dir, 0700);
  store::require_connection(db.conninfo, "--database");
  run_migrations(db.conninfo);
  store::PgStore store({db.conninfo, 2});
  SystemClock clock;
  Botan::System_RNG rng;
  const InitResult r = initialize_ca(store, options, clock, rng);
  options.passphrase.assign(options.passphrase.size(), '\0');
  if (options.pkcs11) options.pkcs11->pin.assign(options.pkcs11->pin.size(), '\0');
  write_file_atomically(tls_dir + "/ca.pem", r.ca_certificate_pem, 0644);
  write_file_atomically(tls_dir + "/server.pem", r.server_certificate_pem, 0644);
  write_file_atomically(tls_dir + "/server.key", r.server_private_key_pem, 0600);
  std::cout << "CA initialised.\n"
            << "  CA certificate:      " << tls_dir << "/ca.pem\n"
            << "  SHA-256 fingerprint: " << r.sha256_fingerprint << "\n"
            << "  SPKI SHA-256:        " << r.spki_sha256 << "\n"
            << "  CA key:              " << r.key_algorithm << ", "
            << (options.pkcs11 ? std::string(r.token_key_made ? "made" : "found") +
                                     " in the PKCS#11 token \"" + options.pkcs11->token_label +
                                     "\" as \"" + options.pkcs11->key_label + "\""
                               : std::string("encrypted in the database with the passphrase"))
            << "\n"
            << "  CRL base URL:        " << options.profile.crl_base_url << "\n"
            << "  server TLS files:    " << tls_dir << "/server.pem, " << tls_dir << "/server.key\n"
            << "Admin key (shown once, store it safely):\n"
            << "  " << r.admin_key.reveal() << "\n";
  return 0;
}

// Refuse a database that is not ready with the command that fixes it,
// rather than with an SQL error on the first query.
void require_current_schema(const std::string& conninfo, const std::string& setting) {
  store::require_connection(conninfo, setting);
  const int schema = store::Migrator(conninfo).current_version();
  const int needed = store::embedded_migrations().back().version;
  if (schema == 0) {
    throw failed_precondition(
        "the database holds no hostca schema: run 'hostca-server init' first");
  }
  if (schema < needed) {
    throw failed_precondition("the database schema is at version " + std::to_string(schema) +
                              ", this server needs " + std::to_string(needed) +
                              ": run 'hostca-server migrate' first");
  }
}

struct RolloverFlags {
  std::string passphrase_file, algorithm, validity = "3650d", reason = "superseded";
  bool emergency = false, revoke_remaining = false;
  SignerFlags signer;  // start: where the next key goes; pin_file also opens the keys
};

// The secrets that open the CA's keys for a command that signs: each read
// if given; CaKeyRing::open names the one a key needs and lacks.
CaKeySecrets command_secrets(const std::string& passphrase_file, const std::string& pin_file) {
  CaKeySecrets s;
  s.passphrase = read_passphrase_if_given(passphrase_file);
  s.pkcs11_pin = read_pkcs11_pin_if_given(pin_file);
  s.pkcs11_sessions = 2;
  return s;
}

void print_step(const char* what, const RolloverStep& step) {
  std::cout << what << " CA key " << step.generation
            << (step.changed ? "" : " (done already, nothing changed)") << "\n"
            << "  SHA-256 fingerprint: " << step.sha256_fingerprint << "\n"
            << "  SPKI SHA-256:        " << step.spki_sha256 << "\n";
  if (step.revoked > 0) std::cout << "  revoked certificates: " << step.revoked << "\n";
}

// ca rollover start|activate|finish: each one unit of work; running one
// again completes it or finds it done.
int cmd_rollover(const DatabaseFlags& db, const std::string& step, const RolloverFlags& flags) {
  require_current_schema(db.conninfo, "--database");
  store::PgStore store({db.conninfo, 1});
  SystemClock clock;
  Botan::System_RNG rng;
  if (step == "activate") {
    print_step("Activated", activate_rollover(store, clock));
    std::cout << "Every server issues with it within a second; run 'hostca-server ca rollover "
                 "finish' once 'hostca-admin ca status' shows no valid certificate of the old "
                 "key.\n";
    return 0;
  }
  RolloverFinish finish;
  if (step == "finish") {
    finish.revoke_remaining = flags.revoke_remaining;
    finish.reason_code = static_cast<int>(parse_revocation_reason(flags.reason));
    if (!flags.revoke_remaining) {
      print_step("Retired", finish_rollover(store, finish, clock));
      return 0;
    }
  }
  // start, and finish --revoke-remaining: they sign, so they open the CA's keys.
  RolloverStart start;
  CaKeySecrets secrets = command_secrets(flags.passphrase_file, flags.signer.pin_file);
  const OpenedCa ca = open_ca(store, secrets, rng);
  if (step == "finish") {
    CertificateProfile profile;
    profile.crl_base_url = ca.crl_base_url;
    AuthorityConfig config;
    config.crl_shards = ca.crl_shards;
    Authority authority(store, ca.ring, profile, clock, rng, config);
    print_step("Retired", authority.finish_rollover(finish));
    return 0;
  }
  if (!flags.algorithm.empty()) start.algorithm = parse_ca_key_algorithm(flags.algorithm);
  start.validity = parse_duration(flags.validity);
  start.emergency = flags.emergency;
  start.pkcs11 = flags.signer.token();
  if (!start.pkcs11) {
    if (secrets.passphrase.empty()) {
      throw failed_precondition(
          "a next key kept in the database is encrypted with the CA passphrase: give "
          "--passphrase-file or set HOSTCA_PASSPHRASE (every server needs it too)");
    }
    start.passphrase = secrets.passphrase;
  }
  const RolloverStep made = start_rollover(store, *ca.ring, start, clock, rng);
  start.passphrase.assign(start.passphrase.size(), '\0');
  if (start.pkcs11) start.pkcs11->pin.assign(start.pkcs11->pin.size(), '\0');
  secrets.wipe();
  print_step(flags.emergency ? "Made and activated (emergency, no link)" : "Announced next", made);
  std::cout << (flags.emergency
                    ? "Agents report a certificate failure until re-pinned with the fingerprint "
                      "above, handed over out of band.\n"
                    : "Agents pin it on their next contact; run 'hostca-server ca rollover "
                      "activate' once 'hostca-admin ca status' shows them trusting it.\n")
            << (start.pkcs11
                    ? "The key is in the PKCS#11 token: every server needs the token's module "
                      "and PIN (pkcs11.pin_file) to sign with it.\n"
                    : "The key is encrypted in the database: every server needs the CA "
                      "passphrase (ca.passphrase_file) to sign with it.\n");
  return 0;
}

int cmd_serve(ServeConfig config) {
  ServeOptions options = std::move(config.options);
  // A drill of the clock check: this server's clock set off on purpose.
  if (const char* offset = std::getenv("HOSTCA_DRILL_CLOCK_OFFSET"); offset && *offset) {
    const bool behind = offset[0] == '-';
    const Duration d = parse_duration(behind ? offset + 1 : offset);
    options.drill_clock_offset = behind ? -d : d;
  }
  options.secrets.passphrase = read_passphrase_if_given(config.passphrase_file);
  options.secrets.pkcs11_pin = read_pkcs11_pin_if_given(config.pkcs11_pin_file);
  const std::string& tls_dir = config.tls_dir;
  const std::string& ready_file = config.ready_file;
  require_current_schema(options.database.conninfo, "database.conninfo");
  if (!options.insecure_plaintext) {
    if (options.tls_cert_file.empty()) options.tls_cert_file = tls_dir + "/server.pem";
    if (options.tls_key_file.empty()) options.tls_key_file = tls_dir + "/server.key";
  }
  // Block the stop signals before any thread starts; one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CaServer server(std::move(options));
  if (!ready_file.empty()) {
    const nlohmann::json ready{{"grpc_port", server.grpc_port()},
                               {"http_port", server.http_port()},
                               {"admin_port", server.admin_port()},
                               {"sha256_fingerprint", server.ca().sha256_fingerprint},
                               {"pid", static_cast<long>(getpid())}};
    write_file_atomically(ready_file, ready.dump() + "\n", 0644);
  }
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    spdlog::info("signal {} received: finishing calls in flight, then stopping", sig);
    server.shutdown(std::chrono::seconds(10));
  });
  server.wait();
  stopper.join();
  spdlog::info("hostca-server stopped");
  return 0;
}

int cmd_admin_key(const DatabaseFlags& db, const std::string& name) {
  // The way back in when every admin key is lost: it needs direct database
  // access, not the CA passphrase, and it is audited like any other key.
  store::PgStore store({db.conninfo, 1});
  const auto ca = store.transact([](store::Tx& tx) { return tx.find_ca(); });
  if (!ca)
    throw failed_precondition("the database holds no CA yet: run 'hostca-server init' first");
  SystemClock clock;
  Botan::System_RNG rng;
  const CreatedAdminKey key = create_admin_key(store, clock, rng, Actor{"database-operator"}, name);
  std::cout << "Admin key " << key.key_id << " (shown once, store it safely):\n  "
            << key.key.reveal() << "\n";
  return 0;
}

// serve's flags: one per setting of the config file, plus --config. Only the
// flags given on the command line override the file and the environment.
struct ServeFlags {
  std::string config_file;
  std::vector<std::string> values = std::vector<std::string>(serve_settings().size());
  std::vector<CLI::Option*> options;

  void add(CLI::App* serve, bool has_config) {
    serve->add_option("--config", config_file,
                      "TOML file of settings (see deploy/hostca.toml.example); flags override "
                      "it, and so do HOSTCA_<SECTION>_<KEY> variables, e.g. "
                      "HOSTCA_DATABASE_POOL_SIZE");
    const ServeConfig defaults;
    const auto& settings = serve_settings();
    for (std::size_t i = 0; i < settings.size(); ++i) {
      const ServeSetting& s = settings[i];
      const std::string help = s.help + " [" + s.key + "]";
      CLI::Option* o = nullptr;
      if (s.kind == ServeSetting::Kind::kBoolean) {
        o = serve->add_flag("--" + s.flag, help);
      } else {
        o = serve->add_option("--" + s.flag, values[i], help);
        if (!s.get(defaults).empty()) o->default_str(s.get(defaults));
        o->type_name(s.kind == ServeSetting::Kind::kInteger    ? "INT"
                     : s.kind == ServeSetting::Kind::kDuration ? "DURATION"
                                                               : "TEXT");
      }
      // --database keeps its old name in the environment, and is needed
      // unless a config file may give it.
      if (s.key == "database.conninfo") {
        o->envname("HOSTCA_DATABASE");
        if (!has_config) o->required();
      }
      options.push_back(o);
    }
  }

  ServeConfig load() const {
    std::optional<ConfigFile> file;
    if (!config_file.empty())
      file = ConfigFile{config_file, read_file(config_file, "the config file")};
    std::vector<FlagValue> given;
    const auto& settings = serve_settings();
    for (std::size_t i = 0; i < settings.size(); ++i) {
      if (options[i]->count() == 0) continue;
      given.push_back(
          {settings[i].key, settings[i].kind == ServeSetting::Kind::kBoolean ? "true" : values[i]});
    }
    ServeConfig c = load_serve_config(file, process_environment(), given);
    if (c.options.database.conninfo.empty()) {
      throw invalid_argument(
          "database.conninfo: not set: give it in the config file, with "
          "--database, $HOSTCA_DATABASE or $HOSTCA_DATABASE_CONNINFO");
    }
    return c;
  }
};

bool has_config_flag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (a == "--config" || a.rfind("--config=", 0) == 0) return true;
  }
  return false;
}

// Every line on stderr one JSON object, gRPC's own messages included.
void use_json_logs() {
  spdlog::default_logger()->set_formatter(make_json_log_formatter());
  gpr_set_log_function([](gpr_log_func_args* args) {
    const auto level = args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
                       : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                                 : spdlog::level::debug;
    spdlog::log(level, "grpc {}:{}: {}", args->file, args->line, args->message);
  });
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("hostca"));
  CLI::App app{"hostca-server: the hostca certificate authority"};
  app.require_subcommand(1);
  DatabaseFlags db;

  auto* init =
      app.add_subcommand("init", "Initialise a CA in an empty database (never overwrites one)");
  db.add(init);
  std::string passphrase_file, tls_dir = "./tls", algorithm, common_name = "hostca CA",
                               ca_validity = "3650d";
  SignerFlags init_signer;
  std::vector<std::string> names{"localhost", "127.0.0.1"};
  int shards = 16;
  init->add_option(
      "--passphrase-file", passphrase_file,
      "File holding the passphrase that encrypts the CA key (else $HOSTCA_PASSPHRASE)");
  init->add_option("--tls-dir", tls_dir, "Folder for ca.pem, server.pem and server.key")
      ->capture_default_str();
  init->add_option("--server-name", names, "DNS name or IPv4 address of the server (repeat)")
      ->capture_default_str();
  init->add_option("--key-algorithm", algorithm,
                   "ecdsa-p256 (default), ecdsa-p384, ed25519, rsa-3072 or rsa-4096; in a "
                   "PKCS#11 token ecdsa-p256, ecdsa-p384 or rsa-3072 (default: the key's there)");
  init_signer.add(init);
  init->add_option("--crl-shards", shards, "Number of CRL shards, fixed for the CA's life")
      ->capture_default_str();
  init->add_option("--common-name", common_name, "Common name of the CA certificate")
      ->capture_default_str();
  init->add_option("--ca-validity", ca_validity, "Validity of the CA certificate")
      ->capture_default_str();
  std::string init_crl_base_url;
  init->add_option("--crl-base-url", init_crl_base_url,
                   "Base of the CRL URLs in every certificate (<url>/<shard>.crl), recorded for "
                   "the CA's life; needed unless every --server-name is loopback");

  auto* serve = app.add_subcommand("serve", "Serve gRPC over TLS and the HTTP endpoint");
  ServeFlags serve_flags;
  serve_flags.add(serve, has_config_flag(argc, argv));

  auto* config = app.add_subcommand("config", "Work with serve's configuration file");
  config->require_subcommand(1);
  auto* config_check = config->add_subcommand(
      "check", "Validate a config file without starting anything (no database connection)");
  std::string check_file;
  config_check->add_option("file", check_file, "The TOML file")->required();

  auto* migrate = app.add_subcommand("migrate", "Apply schema migrations");
  db.add(migrate);
  std::string migrate_crl_base_url, server_password_file;
  migrate->add_option("--server-password-file", server_password_file,
                      "Set the password of the role the server connects as (hostca_server) "
                      "from this file, for password authentication over TCP");
  migrate->add_option("--crl-base-url", migrate_crl_base_url,
                      "Record the CRL base URL of a CA made before it was recorded at init (the "
                      "URL its certificates carry)");

  auto* admin_key = app.add_subcommand("admin-key", "Create an admin key directly in the database");
  db.add(admin_key);
  std::string admin_key_name;
  admin_key->add_option("--name", admin_key_name, "Who or what uses the key")->required();

  auto* ca_cmd = app.add_subcommand("ca", "Work with the CA's keys");
  ca_cmd->require_subcommand(1);
  auto* rollover = ca_cmd->add_subcommand(
      "rollover", "Roll the CA key over: start, activate, finish (docs/operator-guide.md)");
  rollover->require_subcommand(1);
  RolloverFlags rollover_flags;
  auto* roll_start = rollover->add_subcommand(
      "start", "Make the next CA key and its link certificates; agents pin it on their next call");
  db.add(roll_start);
  roll_start->add_option("--passphrase-file", rollover_flags.passphrase_file,
                         "File holding the CA passphrase (else $HOSTCA_PASSPHRASE)");
  roll_start->add_option("--key-algorithm", rollover_flags.algorithm,
                         "ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096 (default: the "
                         "active key's)");
  roll_start
      ->add_option("--ca-validity", rollover_flags.validity, "Validity of the next CA certificate")
      ->capture_default_str();
  rollover_flags.signer.add(roll_start);
  roll_start->add_flag("--emergency", rollover_flags.emergency,
                       "The key is compromised: the new key issues at once, without a link "
                       "(every agent must be re-pinned by hand)");
  auto* roll_activate = rollover->add_subcommand("activate", "Issue with the next key from now on");
  db.add(roll_activate);
  auto* roll_finish = rollover->add_subcommand(
      "finish", "Stop announcing the retiring key (refused while it has valid certificates)");
  db.add(roll_finish);
  roll_finish->add_flag("--revoke-remaining", rollover_flags.revoke_remaining,
                        "Revoke the retiring key's valid certificates rather than wait");
  roll_finish
      ->add_option("--reason", rollover_flags.reason,
                   "RFC 5280 reason for --revoke-remaining (keyCompromise, "
                   "cACompromise, superseded, ...)")
      ->capture_default_str();
  roll_finish->add_option("--passphrase-file", rollover_flags.passphrase_file,
                          "File holding the CA passphrase, for --revoke-remaining (else "
                          "$HOSTCA_PASSPHRASE)");
  roll_finish->add_option("--pkcs11-pin-file", rollover_flags.signer.pin_file,
                          "File holding the PKCS#11 token's PIN, for --revoke-remaining with a "
                          "key in a token (else $HOSTCA_PKCS11_PIN)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (init->parsed()) {
      return cmd_init(db, passphrase_file, init_signer, tls_dir, names, algorithm, shards,
                      common_name, ca_validity, init_crl_base_url);
    }
    if (serve->parsed()) {
      ServeConfig c = serve_flags.load();
      if (c.log_format == "json") use_json_logs();
      return cmd_serve(std::move(c));
    }
    if (config_check->parsed()) {
      // The same checks serve makes before it opens anything.
      load_serve_config(ConfigFile{check_file, read_file(check_file, "the config file")},
                        [](const std::string&) { return std::nullopt; }, {})
          .options.validate();
      std::cout << check_file << ": ok\n";
      return 0;
    }
    if (migrate->parsed()) {
      store::require_connection(db.conninfo, "--database");
      const auto applied = store::Migrator(db.conninfo).apply();
      if (!server_password_file.empty()) {
        std::string password = read_file(server_password_file, "the server password file");
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
          password.pop_back();
        }
        store::set_server_role_password(db.conninfo, password);
        password.assign(password.size(), '\0');
      }
      if (!migrate_crl_base_url.empty()) {
        store::PgStore store({db.conninfo, 1});
        SystemClock clock;
        record_crl_base_url(store, migrate_crl_base_url, clock);
        std::cout << "CRL base URL: " << migrate_crl_base_url << "\n";
      }
      std::cout << (applied.empty() ? "schema is up to date"
                                    : "applied " + std::to_string(applied.size()) + " migration(s)")
                << " (version " << store::Migrator(db.conninfo).current_version() << ")\n";
      return 0;
    }
    if (admin_key->parsed()) return cmd_admin_key(db, admin_key_name);
    for (auto* step : {roll_start, roll_activate, roll_finish}) {
      if (step->parsed()) return cmd_rollover(db, step->get_name(), rollover_flags);
    }
  } catch (const Error& e) {
    std::cerr << "hostca-server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hostca-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
