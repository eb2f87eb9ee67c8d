// Enrolment and reissue under load.
#include <atomic>
#include <iostream>
#include <mutex>
#include <stdexcept>

#include "hostca/v1/host.grpc.pb.h"
#include "scenarios.h"

namespace hostca::bench {

namespace v1 = hostca::v1;

namespace {

std::vector<std::unique_ptr<v1::HostService::Stub>> host_stubs(const Target& target, int clients) {
  std::vector<std::unique_ptr<v1::HostService::Stub>> stubs;
  for (int c = 0; c < clients; ++c) {
    stubs.push_back(v1::HostService::NewStub(
        target.channels[static_cast<std::size_t>(c) % target.channels.size()]));
  }
  return stubs;
}

}  // namespace

Stats run_enrolment(const Target& target, const std::string& prefix, int clients, std::size_t count,
                    double max_seconds, TokenMode mode) {
  const auto prep_start = SteadyClock::now();
  const std::vector<HostInput> inputs = make_host_inputs(prefix, count);
  std::vector<std::string> tokens;
  const int token_count = mode == TokenMode::kShared ? 1 : clients;
  for (int t = 0; t < token_count; ++t) {
    tokens.push_back(target.admin->create_authorization_token(static_cast<std::uint32_t>(count),
                                                              prefix + "-t" + std::to_string(t)));
  }
  const double prep_seconds =
      std::chrono::duration<double>(SteadyClock::now() - prep_start).count();
  auto stubs = host_stubs(target, clients);
  Stats s =
      run_closed_loop(mode == TokenMode::kShared ? "enrol-shared-token" : "enrol", clients, count,
                      max_seconds, [&](std::size_t i, int c) {
                        const auto ci = static_cast<std::size_t>(c);
                        return enrol(*stubs[ci], inputs[i], tokens[ci % tokens.size()], nullptr);
                      });
  s.extra = Json{{"prepared", count},
                 {"prepare_seconds", prep_seconds},
                 {"channels", target.channels.size()},
                 {"tokens", token_count}};
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
  const double prep_seconds =
      std::chrono::duration<double>(SteadyClock::now() - prep_start).count();

  stubs = host_stubs(target, clients);
  std::atomic<std::uint64_t> revoked{0};
  Stats s = run_closed_loop("reissue", clients, count, max_seconds, [&](std::size_t i, int c) {
    v1::ReissueCertificateRequest req;
    req.set_host_id(host_ids[i]);
    req.set_csr(second[i].csr_der);
    req.set_reissue_token(reissue_tokens[i]);
    v1::CertificateResponse res;
    grpc::ClientContext ctx;
    ctx.set_deadline(call_deadline());
    const grpc::Status st = stubs[static_cast<std::size_t>(c)]->ReissueCertificate(&ctx, req, &res);
    if (!st.ok()) return status_name(st);
    if (res.certificate_der().empty()) return std::string("EMPTY_ANSWER");
    // Each host held one valid certificate: the reissue must have revoked it.
    if (res.revoked_serials_hex_size() != 1) return std::string("NOT_ONE_REVOKED");
    ++revoked;
    return std::string();
  });
  s.extra = Json{{"prepared_hosts", count},
                 {"prepare_seconds", prep_seconds},
                 {"revoked_by_reissue", revoked.load()},
                 {"channels", target.channels.size()}};
  return s;
}

}  // namespace hostca::bench
