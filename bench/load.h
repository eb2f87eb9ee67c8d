// What every hostca-bench scenario shares: latency statistics, a bounded
// closed-loop load runner, gRPC channels and the admin calls that prepare
// inputs before the timed part.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "cpu.h"
#include "hostca/v1/host.grpc.pb.h"

namespace hostca::bench {

using SteadyClock = std::chrono::steady_clock;
using Json = nlohmann::json;

// One scenario at one concurrency level.
struct Stats {
  std::string scenario;
  int clients = 0;
  std::uint64_t attempted = 0;
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;
  double seconds = 0;
  double throughput = 0;                      // ok per second
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // milliseconds
  // CPU of the timed part, in milliseconds: this process's per call made
  // (the load generator's own cost), and the watched servers' and
  // databases' per successful call; negative when not measured.
  double load_cpu_ms_per_call = -1;
  double server_cpu_ms_per_ok = -1;
  double db_cpu_ms_per_ok = -1;
  Json extra = Json::object();
};

// Nearest-rank percentiles over latencies in milliseconds.
void summarise(Stats& s, std::vector<double> latencies_ms);
// Fills the CPU figures of `s` (after summarise) from two readings.
void account_cpu(Stats& s, const CpuSample& before, const CpuSample& after, const CpuWatch& watch);
Json to_json(const Stats& s);
void print_table(const std::vector<Stats>& results);

// The outcome of one call: empty when it succeeded, else what went wrong
// (a gRPC status code name, an HTTP status...).
using CallOutcome = std::string;

// Runs call(i, client) for i in [0, count) from `clients` threads, each
// thread taking the next i until count calls were made or max_seconds
// passed. Only the calls are timed; `scenario` names the result. (The
// gRPC scenarios use run_async_unary unless told --load sync: a thread per
// client costs the load generator several times the CPU per call.)
Stats run_closed_loop(const std::string& scenario, int clients, std::size_t count,
                      double max_seconds,
                      const std::function<CallOutcome(std::size_t i, int client)>& call,
                      const CpuWatch& watch = {});

// `count` TLS channels to `address`, each its own connection.
std::vector<std::shared_ptr<grpc::Channel>> open_channels(const std::string& address,
                                                          const std::string& ca_pem, int count);

// Throws unless address is a loopback host:port; returns (host, port).
std::pair<std::string, int> split_loopback(const std::string& address);

std::string read_text(const std::string& path);
std::string status_name(const grpc::Status& status);

// A host key's CSR, made before the timed part.
struct HostInput {
  std::string hostname;
  std::string csr_der;
};
// n distinct ECDSA P-256 keys and DER CSRs, made on all cores.
std::vector<HostInput> make_host_inputs(const std::string& prefix, std::size_t n);

// A deadline 30 s from now, for every call the benchmark makes.
std::chrono::system_clock::time_point call_deadline();

// One RequestCertificate with `input` and `token`; the new host's ID goes
// to `host_id` when given.
CallOutcome enrol(hostca::v1::HostService::Stub& stub, const HostInput& input,
                  const std::string& token, std::string* host_id);

// Admin calls (authenticated with the admin key).
class Admin {
 public:
  Admin(std::shared_ptr<grpc::Channel> channel, std::string key);
  std::string create_authorization_token(std::uint32_t uses, const std::string& name) const;
  std::string create_reissue_token(const std::string& host_id) const;
  // Revokes every certificate of the host; returns the revoked serials.
  std::vector<std::string> revoke_host(const std::string& host_id) const;

 private:
  void authorise(grpc::ClientContext& ctx) const;
  std::shared_ptr<grpc::Channel> channel_;
  std::string key_;
};

}  // namespace hostca::bench
