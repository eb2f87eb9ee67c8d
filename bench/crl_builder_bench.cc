// Micro-benchmark (Google Benchmark) of what one CRL publication signs:
// CrlBuilder::build for a shard holding N revoked certificates, with an
// ECDSA P-256 CA. Shows how the cost of a publication grows with the
// entries of the shard it rebuilds, which is why CRLs are sharded.
//
//   build/bench/hostca-crl-bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <botan/hex.h>
#include <botan/system_rng.h>

#include "domain/ca_key.h"
#include "domain/crl_builder.h"

namespace {

using hostca::CrlContents;
using hostca::CrlEntry;

std::shared_ptr<const hostca::Signer> signer() {
  static Botan::System_RNG rng;
  static const auto s = [] {
    std::shared_ptr<const Botan::Private_Key> key =
        hostca::generate_key(hostca::CaKeyAlgorithm::kEcdsaP256, rng);
    const auto now =
        std::chrono::time_point_cast<hostca::Duration>(std::chrono::system_clock::now());
    return std::make_shared<hostca::SoftwareSigner>(
        key, hostca::make_ca_certificate(*key, {}, now, rng), rng);
  }();
  return s;
}

CrlContents contents(std::size_t entries) {
  Botan::System_RNG rng;
  CrlContents c;
  c.crl_number = 42;
  c.this_update =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  c.next_update = c.this_update + std::chrono::hours(24);
  c.distribution_point_url = "http://127.0.0.1:8080/crl/7.crl";
  for (std::size_t i = 0; i < entries; ++i) {
    auto serial = rng.random_vec(16);
    serial[0] = static_cast<std::uint8_t>(0x10 | (serial[0] & 0x3f));  // positive, no zero octet
    c.entries.push_back(CrlEntry{Botan::hex_encode(serial, false), c.this_update,
                                 hostca::RevocationReason::kSuperseded});
  }
  return c;
}

void BM_BuildShardCrl(benchmark::State& state) {
  const hostca::CrlBuilder builder(signer());
  const CrlContents c = contents(static_cast<std::size_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto der = builder.build(c);
    bytes = der.size();
    benchmark::DoNotOptimize(der.data());
  }
  state.counters["entries"] = static_cast<double>(state.range(0));
  state.counters["crl_bytes"] = static_cast<double>(bytes);
}
// 1,000,000 revoked over 4096 shards is ~244 a shard; over 16 shards, 62,500.
BENCHMARK(BM_BuildShardCrl)
    ->Arg(0)
    ->Arg(1)
    ->Arg(250)
    ->Arg(1000)
    ->Arg(62500)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
