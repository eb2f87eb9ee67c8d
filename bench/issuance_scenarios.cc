// Enrolment and reissue under load.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <stdexcept>

#include <grpcpp/support/proto_buffer_reader.h>

#include "async_load.h"
#include "hostca/v1/host.grpc.pb.h"
#include "scenarios.h"

namespace hostca::bench {

namespace v1 = hostca::v1;

namespace {

// The connections a level of the async load uses: one per 16 clients (HTTP/2
// carries many calls on one), at most --channels. Fewer connections cost the
// load generator less per call: with 16 clients one connection measured
// 0.10 ms per call where four measured 0.12 (docs/benchmarks.md).
std::vector<std::shared_ptr<grpc::Channel>> level_channels(const Target& target, int clients) {
  const std::size_t wanted =
      std::max<std::size_t>(1, (static_cast<std::size_t>(clients) + 15) / 16);
  const std::size_t n = std::min(wanted, target.channels.size());
  return {target.channels.begin(), target.channels.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::vector<std::unique_ptr<v1::HostService::Stub>> host_stubs(const Target& target, int clients) {
  std::vector<std::unique_ptr<v1::HostService::Stub>> stubs;
  for (int c = 0; c < clients; ++c) {
    stubs.push_back(v1::HostService::NewStub(
        target.channels[static_cast<std::size_t>(c) % target.channels.size()]));
  }
  return stubs;
}

bool parse(grpc::ByteBuffer& bytes, v1::CertificateResponse& out) {
  grpc::ProtoBufferReader reader(&bytes);
  return out.ParseFromZeroCopyStream(&reader);
}

// The checks every answer passes, whichever load made the call.
CallOutcome check_enrolment(const v1::CertificateResponse& res) {
  if (res.certificate_der().empty() || res.host_id().empty()) return "EMPTY_ANSWER";
  return {};
}

CallOutcome check_reissue(const v1::CertificateResponse& res) {
  if (res.certificate_der().empty()) return "EMPTY_ANSWER";
  // Each host held one valid certificate: the reissue must have revoked it.
  if (res.revoked_serials_hex_size() != 1) return "NOT_ONE_REVOKED";
  return {};
}

}  // namespace

Stats run_enrolment(const Target& target, const std::string& prefix, int clients, std::size_t count,
                    double max_seconds, TokenMode mode) {
  const auto prep_start = SteadyClock::now();
  std::vector<HostInput> inputs = make_host_inputs(prefix, count);
  std::vector<std::string> tokens;
  const int token_count = mode == TokenMode::kShared ? 1 : clients;
  for (int t = 0; t < token_count; ++t) {
    tokens.push_back(target.admin->create_authorization_token(static_cast<std::uint32_t>(count),
                                                              prefix + "-t" + std::to_string(t)));
  }
  const std::string scenario = mode == TokenMode::kShared ? "enrol-shared-token" : "enrol";
  Stats s;
  if (target.load == LoadMode::kAsync) {
    // Call i's CSR and host name, and each slot's token, serialised apart:
    // the wire bytes of a protobuf message followed by another's are the
    // two merged, so a call is sent as its own slice and its slot's token
    // slice, the token staying with its client as in the synchronous load.
    std::vector<grpc::Slice> bodies;
    bodies.reserve(count);
    for (auto& input : inputs) {
      v1::RequestCertificateRequest req;
      req.set_csr(std::move(input.csr_der));
      req.set_hostname(std::move(input.hostname));
      bodies.push_back(serialise(req));
    }
    inputs = {};
    std::vector<grpc::Slice> token_slices;
    for (const auto& token : tokens) {
      v1::RequestCertificateRequest req;
      req.set_authorization_token(token);
      token_slices.push_back(serialise(req));
    }
    const double prep_seconds =
        std::chrono::duration<double>(SteadyClock::now() - prep_start).count();
    UnaryLoad load;
    load.method = "/hostca.v1.HostService/RequestCertificate";
    load.request = [&](std::size_t i, int slot) {
      const grpc::Slice parts[2] = {
          bodies[i], token_slices[static_cast<std::size_t>(slot) % token_slices.size()]};
      return grpc::ByteBuffer(parts, 2);
    };
    load.check = [](std::size_t, grpc::ByteBuffer& bytes) -> CallOutcome {
      v1::CertificateResponse res;
      if (!parse(bytes, res)) return "UNPARSABLE_ANSWER";
      return check_enrolment(res);
    };
    s = run_async_unary(scenario, level_channels(target, clients), clients, count, max_seconds,
                        load, target.watch);
    s.extra["prepare_seconds"] = prep_seconds;
  } else {
    const double prep_seconds =
        std::chrono::duration<double>(SteadyClock::now() - prep_start).count();
    auto stubs = host_stubs(target, clients);
    s = run_closed_loop(
        scenario, clients, count, max_seconds,
        [&](std::size_t i, int c) {
          const auto ci = static_cast<std::size_t>(c);
          return enrol(*stubs[ci], inputs[i], tokens[ci % tokens.size()], nullptr);
        },
        target.watch);
    s.extra["prepare_seconds"] = prep_seconds;
  }
  s.extra["prepared"] = count;
  s.extra["channels"] = level_channels(target, clients).size();
  s.extra["tokens"] = token_count;
  s.extra["load"] = target.load == LoadMode::kAsync ? "async" : "sync";
  return s;
}

Stats run_reissue(const Target& target, const std::string& prefix, int clients, std::size_t count,
                  double max_seconds) {
  const auto prep_start = SteadyClock::now();
  // Enrol the hosts first (not timed), with a second set of keys for the
  // reissue itself: a reissue needs a new key pair.
  const std::vector<HostInput> first = make_host_inputs(prefix, count);
  const std::vector<HostInput> second = make_host_inputs(prefix + "-new", count);
  const std::string token =
      target.admin->create_authorization_token(static_cast<std::uint32_t>(count), prefix);
  std::vector<std::string> host_ids(count);
  std::vector<std::string> reissue_tokens(count);
  auto stubs = host_stubs(target, 16);
  const Stats enrolled = run_closed_loop("prepare", 16, count, 600, [&](std::size_t i, int c) {
    CallOutcome out = enrol(*stubs[static_cast<std::size_t>(c)], first[i], token, &host_ids[i]);
    if (out.empty()) reissue_tokens[i] = target.admin->create_reissue_token(host_ids[i]);
    return out;
  });
  if (enrolled.ok != count) {
    throw std::runtime_error("reissue: only " + std::to_string(enrolled.ok) + " of " +
                             std::to_string(count) + " hosts could be enrolled beforehand");
  }
  std::vector<v1::ReissueCertificateRequest> requests(count);
  for (std::size_t i = 0; i < count; ++i) {
    requests[i].set_host_id(host_ids[i]);
    requests[i].set_csr(second[i].csr_der);
    requests[i].set_reissue_token(reissue_tokens[i]);
  }
  const double prep_seconds =
      std::chrono::duration<double>(SteadyClock::now() - prep_start).count();

  std::atomic<std::uint64_t> revoked{0};
  Stats s;
  if (target.load == LoadMode::kAsync) {
    std::vector<grpc::Slice> bodies;
    bodies.reserve(count);
    for (const auto& req : requests) bodies.push_back(serialise(req));
    UnaryLoad load;
    load.method = "/hostca.v1.HostService/ReissueCertificate";
    load.request = [&](std::size_t i, int) { return grpc::ByteBuffer(&bodies[i], 1); };
    load.check = [&](std::size_t, grpc::ByteBuffer& bytes) -> CallOutcome {
      v1::CertificateResponse res;
      if (!parse(bytes, res)) return "UNPARSABLE_ANSWER";
      CallOutcome outcome = check_reissue(res);
      if (outcome.empty()) ++revoked;
      return outcome;
    };
    s = run_async_unary("reissue", level_channels(target, clients), clients, count, max_seconds,
                        load, target.watch);
  } else {
    stubs = host_stubs(target, clients);
    s = run_closed_loop(
        "reissue", clients, count, max_seconds,
        [&](std::size_t i, int c) {
          v1::CertificateResponse res;
          grpc::ClientContext ctx;
          ctx.set_deadline(call_deadline());
          const grpc::Status st =
              stubs[static_cast<std::size_t>(c)]->ReissueCertificate(&ctx, requests[i], &res);
          if (!st.ok()) return status_name(st);
          CallOutcome outcome = check_reissue(res);
          if (outcome.empty()) ++revoked;
          return outcome;
        },
        target.watch);
  }
  s.extra["prepared_hosts"] = count;
  s.extra["prepare_seconds"] = prep_seconds;
  s.extra["revoked_by_reissue"] = revoked.load();
  s.extra["channels"] = level_channels(target, clients).size();
  s.extra["load"] = target.load == LoadMode::kAsync ? "async" : "sync";
  return s;
}

}  // namespace hostca::bench
