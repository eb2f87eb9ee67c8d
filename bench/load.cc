#include "load.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "client/channel.h"
#include "hostca/v1/admin.grpc.pb.h"
#include "hostca/v1/host.grpc.pb.h"

namespace hostca::bench {

namespace v1 = hostca::v1;

namespace {
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}
}  // namespace

void summarise(Stats& s, std::vector<double> latencies_ms) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  s.attempted = latencies_ms.size();
  s.p50 = percentile(latencies_ms, 50);
  s.p90 = percentile(latencies_ms, 90);
  s.p99 = percentile(latencies_ms, 99);
  s.max = latencies_ms.empty() ? 0 : latencies_ms.back();
  s.throughput = s.seconds > 0 ? static_cast<double>(s.ok) / s.seconds : 0;
}

void account_cpu(Stats& s, const CpuSample& before, const CpuSample& after, const CpuWatch& watch) {
  const auto per = [](double seconds, std::uint64_t n) {
    return n == 0 ? -1.0 : seconds * 1000.0 / static_cast<double>(n);
  };
  s.load_cpu_ms_per_call = per(after.self - before.self, s.attempted);
  if (!watch.servers.empty()) s.server_cpu_ms_per_ok = per(after.servers - before.servers, s.ok);
  if (!watch.databases.empty()) {
    s.db_cpu_ms_per_ok = per(after.databases - before.databases, s.ok);
  }
  s.extra["cpu_seconds"] = Json{{"load_generator", after.self - before.self},
                                {"servers", after.servers - before.servers},
                                {"databases", after.databases - before.databases}};
}

Json to_json(const Stats& s) {
  const auto measured = [](double v) { return v < 0 ? Json() : Json(v); };
  return Json{{"scenario", s.scenario},
              {"clients", s.clients},
              {"attempted", s.attempted},
              {"ok", s.ok},
              {"errors", s.errors},
              {"seconds", s.seconds},
              {"throughput_per_s", s.throughput},
              {"latency_ms", {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}, {"max", s.max}}},
              {"cpu_ms",
               {{"load_generator_per_call", measured(s.load_cpu_ms_per_call)},
                {"server_per_ok", measured(s.server_cpu_ms_per_ok)},
                {"database_per_ok", measured(s.db_cpu_ms_per_ok)},
                {"server_and_database_per_ok", s.server_cpu_ms_per_ok < 0 && s.db_cpu_ms_per_ok < 0
                                                   ? Json()
                                                   : Json(std::max(0.0, s.server_cpu_ms_per_ok) +
                                                          std::max(0.0, s.db_cpu_ms_per_ok))}}},
              {"extra", s.extra}};
}

void print_table(const std::vector<Stats>& results) {
  std::cout << std::left << std::setw(24) << "scenario" << std::right << std::setw(8) << "clients"
            << std::setw(10) << "ok" << std::setw(8) << "errors" << std::setw(9) << "seconds"
            << std::setw(11) << "per_s" << std::setw(9) << "p50_ms" << std::setw(9) << "p90_ms"
            << std::setw(9) << "p99_ms" << std::setw(9) << "max_ms" << std::setw(10) << "gen_ms"
            << std::setw(10) << "srv_ms" << std::setw(10) << "db_ms"
            << "\n";
  for (const auto& s : results) {
    std::uint64_t errors = 0;
    for (const auto& e : s.errors) errors += e.second;
    std::cout << std::left << std::setw(24) << s.scenario << std::right << std::setw(8) << s.clients
              << std::setw(10) << s.ok << std::setw(8) << errors << std::fixed
              << std::setprecision(2) << std::setw(9) << s.seconds << std::setprecision(0)
              << std::setw(11) << s.throughput << std::setprecision(2) << std::setw(9) << s.p50
              << std::setw(9) << s.p90 << std::setw(9) << s.p99 << std::setw(9) << s.max
              << std::setprecision(3);
    for (const double cpu : {s.load_cpu_ms_per_call, s.server_cpu_ms_per_ok, s.db_cpu_ms_per_ok}) {
      if (cpu < 0) {
        std::cout << std::setw(10) << "-";
      } else {
        std::cout << std::setw(10) << cpu;
      }
    }
    std::cout << "\n";
  }
  std::cout.flush();
}

Stats run_closed_loop(const std::string& scenario, int clients, std::size_t count,
                      double max_seconds, const std::function<CallOutcome(std::size_t, int)>& call,
                      const CpuWatch& watch) {
  const auto n = static_cast<std::size_t>(clients);
  std::atomic<std::size_t> next{0};
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::vector<double>> latencies(n);
  std::vector<std::map<std::string, std::uint64_t>> errors(n);
  std::vector<std::uint64_t> oks(n, 0);
  SteadyClock::time_point deadline{};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const auto idx = static_cast<std::size_t>(c);
      latencies[idx].reserve(count / n + 16);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      for (std::size_t i = next++; i < count && SteadyClock::now() < deadline; i = next++) {
        const auto t0 = SteadyClock::now();
        const CallOutcome outcome = call(i, c);
        const auto t1 = SteadyClock::now();
        latencies[idx].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (outcome.empty()) {
          ++oks[idx];
        } else {
          ++errors[idx][outcome];
        }
      }
    });
  }
  while (ready.load() < clients) std::this_thread::yield();
  const CpuSample before = sample_cpu(watch, Edge::kStart);
  const auto start = SteadyClock::now();
  deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(max_seconds));
  go = true;
  for (auto& t : threads) t.join();
  Stats s;
  s.scenario = scenario;
  s.clients = clients;
  s.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const CpuSample after = sample_cpu(watch, Edge::kEnd);
  std::vector<double> all;
  for (std::size_t c = 0; c < n; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    s.ok += oks[c];
    for (const auto& [what, k] : errors[c]) s.errors[what] += k;
  }
  summarise(s, std::move(all));
  account_cpu(s, before, after, watch);
  return s;
}

std::vector<std::shared_ptr<grpc::Channel>> open_channels(const std::string& address,
                                                          const std::string& ca_pem, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ca_pem;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // A subchannel pool per channel, so each channel is its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // What a load generator does not need and pays for on every call (in
    // perf): the retry filter, which holds each request until the answer
    // in case it must send it again (a failed call is counted, not
    // retried), and channelz's call counters.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt("hostca.bench.channel", i);
    auto channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      throw std::runtime_error("cannot connect to " + address);
    }
    channels.push_back(std::move(channel));
  }
  return channels;
}

std::pair<std::string, int> split_loopback(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("expected host:port, got " + address);
  const std::string host = address.substr(0, colon);
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
    throw std::runtime_error("hostca-bench only loads loopback servers, not " + host);
  }
  return {host, std::stoi(address.substr(colon + 1))};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string status_name(const grpc::Status& status) {
  return client::status_code_name(status.error_code());
}

namespace {
// A DER PKCS#10 request for a fresh ECDSA P-256 key, made with OpenSSL:
// Botan 2 takes 5 ms to make a P-256 key, OpenSSL 0.03 ms, and a soak
// needs hundreds of thousands of keys before its timed part.
std::string openssl_csr(const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509_REQ* req = X509_REQ_new();
  X509_NAME* name = X509_NAME_new();
  std::string der;
  if (key != nullptr && req != nullptr && name != nullptr && X509_REQ_set_version(req, 0) == 1 &&
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1 &&
      X509_REQ_set_subject_name(req, name) == 1 && X509_REQ_set_pubkey(req, key) == 1 &&
      X509_REQ_sign(req, key, EVP_sha256()) > 0) {
    unsigned char* out = nullptr;
    const int length = i2d_X509_REQ(req, &out);
    if (length > 0)
      der.assign(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
    OPENSSL_free(out);
  }
  X509_NAME_free(name);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  if (der.empty()) throw std::runtime_error("OpenSSL could not make a CSR");
  return der;
}
}  // namespace

std::vector<HostInput> make_host_inputs(const std::string& prefix, std::size_t n) {
  std::vector<HostInput> out(n);
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      try {
        for (std::size_t i = next++; i < n && !failed; i = next++) {
          out[i].hostname = prefix + "-" + std::to_string(i) + ".bench.example";
          out[i].csr_der = openssl_csr(out[i].hostname);
        }
      } catch (const std::exception&) {
        failed = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) throw std::runtime_error("OpenSSL could not make a CSR");
  return out;
}

CallOutcome enrol(v1::HostService::Stub& stub, const HostInput& input, const std::string& token,
                  std::string* host_id) {
  v1::RequestCertificateRequest req;
  req.set_csr(input.csr_der);
  req.set_hostname(input.hostname);
  req.set_authorization_token(token);
  v1::CertificateResponse res;
  grpc::ClientContext ctx;
  ctx.set_deadline(call_deadline());
  const grpc::Status st = stub.RequestCertificate(&ctx, req, &res);
  if (!st.ok()) return status_name(st);
  if (res.certificate_der().empty() || res.host_id().empty()) return "EMPTY_ANSWER";
  if (host_id) *host_id = res.host_id();
  return {};
}

std::chrono::system_clock::time_point call_deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(30);
}

Admin::Admin(std::shared_ptr<grpc::Channel> channel, std::string key)
    : channel_(std::move(channel)), key_(std::move(key)) {}

void Admin::authorise(grpc::ClientContext& ctx) const {
  ctx.AddMetadata("authorization", "Bearer " + key_);
  ctx.set_deadline(call_deadline());
}

std::string Admin::create_authorization_token(std::uint32_t uses, const std::string& name) const {
  auto stub = v1::AdminService::NewStub(channel_);
  grpc::ClientContext ctx;
  authorise(ctx);
  v1::CreateAuthorizationTokenRequest req;
  req.set_name(name);
  req.set_max_uses(uses);
  req.mutable_valid_for()->set_seconds(3600);
  req.set_reason("hostca-bench");
  v1::CreateTokenResponse res;
  const grpc::Status st = stub->CreateAuthorizationToken(&ctx, req, &res);
  if (!st.ok()) throw std::runtime_error("CreateAuthorizationToken: " + st.error_message());
  return res.token();
}

std::string Admin::create_reissue_token(const std::string& host_id) const {
  auto stub = v1::AdminService::NewStub(channel_);
  grpc::ClientContext ctx;
  authorise(ctx);
  v1::CreateReissueTokenRequest req;
  req.set_host_id(host_id);
  req.mutable_valid_for()->set_seconds(3600);
  req.set_reason("hostca-bench");
  v1::CreateTokenResponse res;
  const grpc::Status st = stub->CreateReissueToken(&ctx, req, &res);
  if (!st.ok()) throw std::runtime_error("CreateReissueToken: " + st.error_message());
  return res.token();
}

std::vector<std::string> Admin::revoke_host(const std::string& host_id) const {
  auto stub = v1::AdminService::NewStub(channel_);
  grpc::ClientContext ctx;
  authorise(ctx);
  v1::RevokeCertificateRequest req;
  req.set_host_id(host_id);
  req.set_reason(1);  // keyCompromise
  v1::RevokeCertificateResponse res;
  const grpc::Status st = stub->RevokeCertificate(&ctx, req, &res);
  if (!st.ok()) throw std::runtime_error("RevokeCertificate: " + st.error_message());
  return {res.revoked_serials_hex().begin(), res.revoked_serials_hex().end()};
}

}  // namespace hostca::bench
