// What relying parties see: CRL fetches over HTTP, and how soon a
// revocation made on one server reaches a subscriber on another.
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "hostca/v1/host.grpc.pb.h"
#include "hostca/v1/revocation.grpc.pb.h"
#include "scenarios.h"

namespace hostca::bench {

namespace v1 = hostca::v1;

Stats run_crl_fetch(const std::string& host, int port, int shard, int clients, double seconds,
                    std::uint64_t max_requests, bool conditional, const CpuWatch& watch) {
  const std::string path = "/crl/" + std::to_string(shard) + ".crl";
  std::string etag;
  std::size_t bytes = 0;
  {
    httplib::Client first(host, port);
    first.set_connection_timeout(5);
    first.set_read_timeout(10);
    const auto res = first.Get(path.c_str());
    if (!res || res->status != 200) {
      throw std::runtime_error("first GET " + path + " failed" +
                               (res ? ": HTTP " + std::to_string(res->status) : ""));
    }
    etag = res->get_header_value("ETag");
    bytes = res->body.size();
    if (etag.empty()) throw std::runtime_error("GET " + path + " carried no ETag");
  }
  // One keep-alive connection per client thread.
  std::vector<std::unique_ptr<httplib::Client>> connections;
  for (int c = 0; c < clients; ++c) {
    connections.push_back(std::make_unique<httplib::Client>(host, port));
    connections.back()->set_keep_alive(true);
    connections.back()->set_tcp_nodelay(true);  // as curl does
    connections.back()->set_connection_timeout(5);
    connections.back()->set_read_timeout(10);
  }
  const httplib::Headers headers =
      conditional ? httplib::Headers{{"If-None-Match", etag}} : httplib::Headers{};
  const int expected = conditional ? 304 : 200;
  Stats s = run_closed_loop(
      conditional ? "crl-get-304" : "crl-get-200", clients, max_requests, seconds,
      [&](std::size_t, int c) -> CallOutcome {
        const auto res = connections[static_cast<std::size_t>(c)]->Get(path.c_str(), headers);
        if (!res) return "NO_ANSWER";
        if (res->status != expected) return "HTTP_" + std::to_string(res->status);
        if (!conditional && res->body.size() != bytes) return "WRONG_BODY";
        return {};
      },
      watch);
  s.extra = Json{{"path", path}, {"etag", etag}, {"crl_bytes", bytes}};
  return s;
}

namespace {

// Receives revocation events on another server and notes when each serial
// arrived.
class Subscriber {
 public:
  explicit Subscriber(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(v1::RevocationService::NewStub(channel)) {
    thread_ = std::thread([this] { run(); });
    // Bounded: the stream call starts at once; the caller then gives the
    // server a moment to register the subscription.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return started_; });
  }
  ~Subscriber() {
    ctx_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }
  // Waits until `serial` arrived, at most `timeout`; returns when.
  std::optional<SteadyClock::time_point> wait_for(const std::string& serial,
                                                  std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return arrived_.count(serial) > 0 || ended_; });
    const auto it = arrived_.find(serial);
    if (it == arrived_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void run() {
    v1::WatchRevocationsRequest req;  // from now
    auto reader = stub_->WatchRevocations(&ctx_, req);
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = true;
    }
    cv_.notify_all();
    v1::RevocationEvent event;
    while (reader->Read(&event)) {
      const auto now = SteadyClock::now();
      std::lock_guard<std::mutex> lock(mu_);
      arrived_.emplace(event.serial_hex(), now);
      cv_.notify_all();
    }
    reader->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  std::unique_ptr<v1::RevocationService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool ended_ = false;
  std::map<std::string, SteadyClock::time_point> arrived_;
};

}  // namespace

Stats run_revocation_visibility(const Target& revoking,
                                const std::shared_ptr<grpc::Channel>& watching,
                                const std::string& prefix, std::size_t count) {
  // Hosts to revoke, enrolled beforehand.
  const std::vector<HostInput> inputs = make_host_inputs(prefix, count);
  const std::string token =
      revoking.admin->create_authorization_token(static_cast<std::uint32_t>(count), prefix);
  auto stub = v1::HostService::NewStub(revoking.channels[0]);
  std::vector<std::string> host_ids;
  for (const auto& input : inputs) {
    std::string host_id;
    if (const CallOutcome out = enrol(*stub, input, token, &host_id); !out.empty()) {
      throw std::runtime_error("visibility: an enrolment beforehand failed: " + out);
    }
    host_ids.push_back(host_id);
  }

  Subscriber subscriber(watching);
  // Let the subscription reach the server before the first revocation.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<double> latencies;
  std::vector<double> from_start;  // from the RevokeCertificate call's start
  Stats s;
  s.scenario = "revocation-visibility";
  s.clients = 1;
  const auto start = SteadyClock::now();
  for (const auto& host_id : host_ids) {
    std::vector<std::string> serials;
    const auto called = SteadyClock::now();
    try {
      serials = revoking.admin->revoke_host(host_id);
    } catch (const std::exception&) {
      ++s.errors["REVOKE_FAILED"];
      continue;
    }
    const auto returned = SteadyClock::now();
    if (serials.size() != 1) {
      ++s.errors["NOT_ONE_REVOKED"];
      continue;
    }
    const auto arrived = subscriber.wait_for(serials[0], std::chrono::seconds(5));
    if (!arrived) {
      ++s.errors["NOT_DELIVERED_IN_5S"];
      continue;
    }
    // An event may arrive before the revoking call has returned to us;
    // that counts as zero.
    latencies.push_back(
        std::max(0.0, std::chrono::duration<double, std::milli>(*arrived - returned).count()));
    from_start.push_back(std::chrono::duration<double, std::milli>(*arrived - called).count());
    ++s.ok;
  }
  s.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  Stats whole;
  summarise(whole, std::move(from_start));
  summarise(s, std::move(latencies));
  s.attempted = count;
  s.extra =
      Json{{"measured_from", "RevokeCertificate returned on the revoking server"},
           {"from_call_start_ms",
            {{"p50", whole.p50}, {"p90", whole.p90}, {"p99", whole.p99}, {"max", whole.max}}}};
  return s;
}

}  // namespace hostca::bench
