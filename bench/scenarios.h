// The hostca-bench scenarios. Each prepares its inputs (keys, CSRs,
// tokens, enrolled hosts) before the timed part and returns one Stats per
// concurrency level.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "load.h"

namespace hostca::bench {

// How the timed gRPC calls are made: asynchronously from one thread with
// every request serialised beforehand (run_async_unary, the default), or
// from a thread per client with synchronous stubs (the load generator of
// earlier figures, kept to compare with).
enum class LoadMode { kAsync, kSync };

struct Target {
  std::vector<std::shared_ptr<grpc::Channel>> channels;  // the server under load
  std::shared_ptr<Admin> admin;
  LoadMode load = LoadMode::kAsync;
  CpuWatch watch;  // processes whose CPU per call each result reports
};

// How enrolments get their authorization tokens: one per client thread
// (hosts of a rebuild each holding their own), or one shared by every call.
enum class TokenMode { kPerClient, kShared };

Stats run_enrolment(const Target& target, const std::string& prefix, int clients, std::size_t count,
                    double max_seconds, TokenMode mode);

// Enrols `count` hosts (untimed), makes a reissue token and a new CSR for
// each, then times ReissueCertificate: revoke, CRL publication, issue.
Stats run_reissue(const Target& target, const std::string& prefix, int clients, std::size_t count,
                  double max_seconds);

// HTTP GET of one CRL shard: full answers (200 with the DER) or, with
// `conditional`, If-None-Match answered 304.
Stats run_crl_fetch(const std::string& host, int port, int shard, int clients, double seconds,
                    std::uint64_t max_requests, bool conditional, const CpuWatch& watch);

// Revokes `count` hosts one after another through `revoking`, while a
// WatchRevocations subscriber on `watching` (another server) times each
// event from the RevokeCertificate call's return to its arrival.
Stats run_revocation_visibility(const Target& revoking,
                                const std::shared_ptr<grpc::Channel>& watching,
                                const std::string& prefix, std::size_t count);

}  // namespace hostca::bench
