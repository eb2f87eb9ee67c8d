// hostca-bench: load generator for running hostca servers (loopback only).
// bench/run.sh starts PostgreSQL and the servers and runs every scenario;
// see bench/README.md and docs/benchmarks.md.
#include <absl/synchronization/mutex.h>
#include <botan/auto_rng.h>
#include <botan/hex.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "scenarios.h"

namespace {

using hostca::bench::Json;
using hostca::bench::Stats;

std::string random_run_id() {
  Botan::AutoSeeded_RNG rng;
  return "b" + Botan::hex_encode(rng.random_vec(4), false);
}

void check_clients(int clients) {
  if (clients < 1 || clients > 1024) throw std::runtime_error("clients must be in 1..1024");
}

}  // namespace

int main(int argc, char** argv) {
  namespace bench = hostca::bench;
  CLI::App app{"hostca-bench: load generator for running hostca servers (loopback only)"};
  std::string server, watch_server, ca_file, admin_key_file, http, json_file, label;
  std::vector<std::string> scenarios{"enrol", "crl"};
  std::vector<int> clients{1, 16, 64};
  std::size_t count = 2000, reissue_count = 2000, visibility_count = 200;
  double max_seconds = 60;
  int channels = 4;
  int crl_clients = 16, crl_shard = 0;
  double crl_seconds = 5;
  std::uint64_t crl_max_requests = 10'000'000;
  std::string load = "async";
  std::vector<int> server_pids, db_pids;
  app.add_option("--server", server, "gRPC address of the server under load (host:port)");
  app.add_option("--watch-server", watch_server,
                 "gRPC address of a second server, for the visibility scenario");
  app.add_option("--ca-file", ca_file, "CA certificate (PEM) to trust");
  app.add_option("--admin-key-file", admin_key_file, "File holding an admin key");
  app.add_option("--http", http, "HTTP address of the server (host:port)");
  app.add_option("--scenario", scenarios,
                 "enrol, enrol-shared-token, reissue, crl, visibility (several allowed)")
      ->capture_default_str();
  app.add_option("--clients", clients, "Concurrent clients, one level per value")
      ->capture_default_str();
  app.add_option("--count", count, "Enrolments per level (at most)")->capture_default_str();
  app.add_option("--reissue-count", reissue_count, "Reissues per level (at most)")
      ->capture_default_str();
  app.add_option("--visibility-count", visibility_count, "Revocations timed end to end")
      ->capture_default_str();
  app.add_option("--max-seconds", max_seconds, "Time bound of each timed level")
      ->capture_default_str();
  app.add_option("--channels", channels, "gRPC channels (connections) shared by the clients")
      ->capture_default_str();
  app.add_option("--crl-clients", crl_clients, "Concurrent HTTP connections")
      ->capture_default_str();
  app.add_option("--crl-seconds", crl_seconds, "Duration of each CRL fetch run")
      ->capture_default_str();
  app.add_option("--crl-max-requests", crl_max_requests, "Request bound of each CRL fetch run")
      ->capture_default_str();
  app.add_option("--crl-shard", crl_shard, "CRL shard to fetch")->capture_default_str();
  app.add_option("--load", load,
                 "How timed gRPC calls are made: async (one thread, a completion queue, "
                 "requests serialised beforehand) or sync (a thread per client)")
      ->check(CLI::IsMember({"async", "sync"}))
      ->capture_default_str();
  app.add_option("--server-pid", server_pids,
                 "Server process(es) whose CPU per call each result reports (from /proc)");
  app.add_option("--db-pid", db_pids,
                 "Database postmaster(s) whose CPU per call, with every backend's, each result "
                 "reports");
  app.add_option("--label", label, "Free text stored with every result (e.g. revoked=1000000)");
  app.add_option("--json", json_file, "Write the results here as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Debian's abseil keeps absl::Mutex's deadlock detection on, a graph of
  // lock order updated on every lock gRPC takes: 5 % of the load
  // generator's CPU in perf, and nothing a benchmark needs.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  try {
    std::vector<Stats> results;
    const std::string run_id = random_run_id();
    bench::Target target;
    target.load = load == "sync" ? bench::LoadMode::kSync : bench::LoadMode::kAsync;
    for (const int pid : server_pids) target.watch.servers.push_back(pid);
    for (const int pid : db_pids) target.watch.databases.push_back(pid);
    bench::sample_cpu(target.watch,
                      bench::Edge::kStart);  // fails now, not after the inputs, on a wrong pid
    const auto connect = [&] {
      if (!target.channels.empty()) return;
      if (server.empty() || ca_file.empty() || admin_key_file.empty()) {
        throw std::runtime_error("gRPC scenarios need --server, --ca-file and --admin-key-file");
      }
      bench::split_loopback(server);
      if (channels < 1) throw std::runtime_error("--channels must be at least 1");
      target.channels = bench::open_channels(server, bench::read_text(ca_file), channels);
      target.admin =
          std::make_shared<bench::Admin>(target.channels[0], bench::read_text(admin_key_file));
    };
    for (const auto& scenario : scenarios) {
      if (scenario == "enrol" || scenario == "enrol-shared-token") {
        connect();
        if (count == 0) throw std::runtime_error("--count must be at least 1");
        const auto mode =
            scenario == "enrol" ? bench::TokenMode::kPerClient : bench::TokenMode::kShared;
        for (const int c : clients) {
          check_clients(c);
          std::cerr << scenario << ": " << c << " clients, " << count << " enrolments...\n";
          results.push_back(bench::run_enrolment(target,
                                                 run_id + "-" + scenario + "-c" + std::to_string(c),
                                                 c, count, max_seconds, mode));
        }
      } else if (scenario == "reissue") {
        connect();
        if (reissue_count == 0) throw std::runtime_error("--reissue-count must be at least 1");
        for (const int c : clients) {
          check_clients(c);
          std::cerr << "reissue: " << c << " clients, " << reissue_count << " reissues...\n";
          results.push_back(bench::run_reissue(target, run_id + "-r-c" + std::to_string(c), c,
                                               reissue_count, max_seconds));
        }
      } else if (scenario == "crl") {
        if (http.empty()) throw std::runtime_error("crl needs --http");
        check_clients(crl_clients);
        const auto [host, port] = bench::split_loopback(http);
        for (const bool conditional : {false, true}) {
          std::cerr << "crl: " << crl_clients << " connections, " << crl_seconds << " s, "
                    << (conditional ? "If-None-Match" : "full GET") << "...\n";
          results.push_back(bench::run_crl_fetch(host, port, crl_shard, crl_clients, crl_seconds,
                                                 crl_max_requests, conditional, target.watch));
        }
      } else if (scenario == "visibility") {
        connect();
        if (watch_server.empty()) throw std::runtime_error("visibility needs --watch-server");
        bench::split_loopback(watch_server);
        const auto watching =
            bench::open_channels(watch_server, bench::read_text(ca_file), 1).front();
        std::cerr << "visibility: " << visibility_count << " revocations...\n";
        results.push_back(
            bench::run_revocation_visibility(target, watching, run_id + "-v", visibility_count));
      } else {
        throw std::runtime_error("unknown scenario " + scenario +
                                 " (enrol, enrol-shared-token, reissue, crl, visibility)");
      }
    }
    bench::print_table(results);
    if (!json_file.empty()) {
      Json out{{"run_id", run_id}, {"server", server}, {"load", load},
               {"http", http},     {"label", label},   {"results", Json::array()}};
      for (const auto& s : results) {
        Json j = bench::to_json(s);
        j["label"] = label;
        out["results"].push_back(std::move(j));
      }
      std::ofstream f(json_file);
      f << out.dump(2) << "\n";
      if (!f) throw std::runtime_error("cannot write " + json_file);
    }
  } catch (const std::exception& e) {
    std::cerr << "hostca-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
