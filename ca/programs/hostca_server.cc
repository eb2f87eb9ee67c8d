// hostca-server: init (bootstrap a CA), serve, migrate, admin-key, server-cert.
#include <signal.h>

#include <iostream>

#include <grpc/support/log.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "domain/authority.h"
#include "domain/bootstrap.h"
#include "server/ca_server.h"
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

void run_migrations(const std::string& conninfo) {
  const auto applied = store::Migrator(conninfo).apply();
  for (const auto& name : applied) spdlog::info("applied migration {}", name);
}

int cmd_init(const DatabaseFlags& db, const std::string& passphrase_file,
             const std::string& tls_dir, const std::vector<std::string>& names,
             const std::string& algorithm, int shards, const std::string& common_name,
             const std::string& validity) {
  InitOptions options;
  options.algorithm = parse_ca_key_algorithm(algorithm);
  options.passphrase = read_passphrase(passphrase_file);
  options.server_names = names;
  options.crl_shards = shards;
  options.ca.common_name = common_name;
  options.ca.validity = parse_duration(validity);
  make_private_dir(tls_dir, 0700);
  run_migrations(db.conninfo);
  store::PgStore store({db.conninfo, 2});
  SystemClock clock;
  const InitResult r = initialize_ca(store, options, clock);
  write_file_atomically(tls_dir + "/ca.pem", r.ca_certificate_pem, 0644);
  write_file_atomically(tls_dir + "/server.pem", r.server_certificate_pem, 0644);
  write_file_atomically(tls_dir + "/server.key", r.server_private_key_pem, 0600);
  std::cout << "CA initialised.\n"
            << "  CA certificate:      " << tls_dir << "/ca.pem\n"
            << "  SHA-256 fingerprint: " << r.sha256_fingerprint << "\n"
            << "  SPKI SHA-256:        " << r.spki_sha256 << "\n"
            << "  server TLS files:    " << tls_dir << "/server.pem, " << tls_dir << "/server.key\n"
            << "Admin key (shown once, store it safely):\n"
            << "  " << r.admin_key.reveal() << "\n";
  return 0;
}

int cmd_serve(ServeOptions options, const std::string& passphrase_file, const std::string& tls_dir,
              const std::string& ready_file) {
  options.passphrase = read_passphrase(passphrase_file);
  // Refuse a database that is not ready with the command that fixes it,
  // rather than with an SQL error on the first query.
  const int schema = store::Migrator(options.database.conninfo).current_version();
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
  std::optional<store::CaRow> ca;
  store.transact([&](store::Tx& tx) { ca = tx.find_ca(); });
  if (!ca)
    throw failed_precondition("the database holds no CA yet: run 'hostca-server init' first");
  SystemClock clock;
  const CreatedAdminKey key = create_admin_key(store, clock, Actor{"database-operator"}, name);
  std::cout << "Admin key " << key.key_id << " (shown once, store it safely):\n  "
            << key.key.reveal() << "\n";
  return 0;
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
  std::string passphrase_file, tls_dir = "./tls", algorithm = "ecdsa-p256",
                               common_name = "hostca CA", ca_validity = "3650d";
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
                   "ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096")
      ->capture_default_str();
  init->add_option("--crl-shards", shards, "Number of CRL shards, fixed for the CA's life")
      ->capture_default_str();
  init->add_option("--common-name", common_name, "Common name of the CA certificate")
      ->capture_default_str();
  init->add_option("--ca-validity", ca_validity, "Validity of the CA certificate")
      ->capture_default_str();

  auto* serve = app.add_subcommand("serve", "Serve gRPC over TLS and the HTTP endpoint");
  db.add(serve);
  ServeOptions serve_options;
  std::string serve_passphrase_file, serve_tls_dir = "./tls", validity = "365d", ready_file;
  int pool_size = 8;
  serve->add_option("--passphrase-file", serve_passphrase_file,
                    "File holding the CA passphrase (else $HOSTCA_PASSPHRASE)");
  serve->add_option("--listen", serve_options.grpc_listen, "gRPC address")->capture_default_str();
  serve->add_option("--http-listen", serve_options.http_listen, "HTTP address")
      ->capture_default_str();
  serve->add_option("--tls-dir", serve_tls_dir, "Folder holding server.pem and server.key")
      ->capture_default_str();
  serve->add_option("--tls-cert", serve_options.tls_cert_file, "TLS certificate (PEM)");
  serve->add_option("--tls-key", serve_options.tls_key_file, "TLS private key (PEM)");
  serve->add_flag("--insecure-plaintext", serve_options.insecure_plaintext,
                  "Serve gRPC without TLS: development only");
  serve->add_option("--pool-size", pool_size, "Database connections")->capture_default_str();
  serve
      ->add_option("--http-threads", serve_options.http_threads,
                   "HTTP workers: concurrent keep-alive connections served")
      ->capture_default_str();
  serve->add_option("--validity", validity, "Validity of host certificates")->capture_default_str();
  serve->add_option("--crl-base-url", serve_options.profile.crl_base_url,
                    "Base of CRL distribution point URLs (default: http://<http-listen>/crl)");
  serve->add_option("--ready-file", ready_file, "Write the bound ports here as JSON when ready");
  std::string log_format = "text";
  serve->add_option("--log-format", log_format, "text, or json: one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  std::string crl_validity = "24h", crl_republish_before = "12h", crl_check_interval = "30s";
  serve->add_option("--crl-validity", crl_validity, "nextUpdate - thisUpdate of every CRL")
      ->capture_default_str();
  serve
      ->add_option("--crl-republish-before", crl_republish_before,
                   "Republish a shard once its nextUpdate is this close")
      ->capture_default_str();
  serve
      ->add_option("--crl-check-interval", crl_check_interval,
                   "How often to look for shards due for republication")
      ->capture_default_str();
  std::string token_failure_window = "60s";
  serve
      ->add_option("--token-failure-budget", serve_options.authority.token_attempts.budget,
                   "Failed token attempts per peer address (and per token prefix) per window; "
                   "past it, RESOURCE_EXHAUSTED")
      ->capture_default_str();
  serve
      ->add_option("--token-failure-window", token_failure_window,
                   "The window the failed token attempts are counted over")
      ->capture_default_str();
  serve_options.profile.crl_base_url.clear();

  auto* migrate = app.add_subcommand("migrate", "Apply schema migrations");
  db.add(migrate);

  auto* admin_key = app.add_subcommand("admin-key", "Create an admin key directly in the database");
  db.add(admin_key);
  std::string admin_key_name;
  admin_key->add_option("--name", admin_key_name, "Who or what uses the key")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (init->parsed()) {
      return cmd_init(db, passphrase_file, tls_dir, names, algorithm, shards, common_name,
                      ca_validity);
    }
    if (serve->parsed()) {
      if (log_format == "json") use_json_logs();
      serve_options.database =
          store::PgStoreOptions{db.conninfo, static_cast<std::size_t>(pool_size)};
      serve_options.profile.validity = parse_duration(validity);
      serve_options.authority.crl.validity = parse_duration(crl_validity);
      serve_options.authority.crl.republish_before = parse_duration(crl_republish_before);
      serve_options.authority.token_attempts.window = parse_duration(token_failure_window);
      serve_options.crl_check_interval =
          std::chrono::duration_cast<std::chrono::milliseconds>(parse_duration(crl_check_interval));
      if (serve_options.crl_check_interval < std::chrono::seconds(1)) {
        throw invalid_argument("--crl-check-interval must be at least 1s");
      }
      return cmd_serve(serve_options, serve_passphrase_file, serve_tls_dir, ready_file);
    }
    if (migrate->parsed()) {
      const auto applied = store::Migrator(db.conninfo).apply();
      std::cout << (applied.empty() ? "schema is up to date"
                                    : "applied " + std::to_string(applied.size()) + " migration(s)")
                << " (version " << store::Migrator(db.conninfo).current_version() << ")\n";
      return 0;
    }
    if (admin_key->parsed()) return cmd_admin_key(db, admin_key_name);
  } catch (const Error& e) {
    std::cerr << "hostca-server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "hostca-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
