#include "service/revocation_service.h"

#include <algorithm>

#include "service/convert.h"
#include "service/status.h"

namespace hostca::service {

namespace {
constexpr std::uint32_t kBatch = 500;
// Without news from the feed, look at the cancellation this often.
constexpr std::chrono::milliseconds kPoll{1000};
}  // namespace

grpc::Status RevocationServiceImpl::GetCRL(grpc::ServerContext* context,
                                           const v1::GetCRLRequest* request,
                                           v1::GetCRLResponse* response) {
  return handle("GetCRL", context, [&] {
    std::optional<int> shard;
    if (request->has_shard())
      shard = static_cast<int>(std::min<std::uint32_t>(request->shard(), 1u << 30));
    std::optional<int> generation;
    if (request->has_ca_generation()) {
      generation = static_cast<int>(std::min<std::uint32_t>(request->ca_generation(), 1u << 30));
    }
    for (const auto& crl : authority_.crls(shard, generation)) {
      if (!crl.der.empty()) to_proto(crl, response->add_crls());
    }
    if (!shard) {
      // The active key's CA scope CRL in ca_crl (what clients before
      // rollover read), every other key's in other_ca_crls.
      const int active = authority_.ca_certificate().generation;
      for (const auto& ca : authority_.ca_scope_crls()) {
        if (ca.der.empty() || (generation && ca.ca_generation != *generation)) continue;
        v1::CRL* out =
            ca.ca_generation == active ? response->mutable_ca_crl() : response->add_other_ca_crls();
        to_proto(ca, out);
        out->set_shard(0);
      }
    }
  });
}

grpc::Status RevocationServiceImpl::WatchRevocations(
    grpc::ServerContext* context, const v1::WatchRevocationsRequest* request,
    grpc::ServerWriter<v1::RevocationEvent>* writer) {
  return handle("WatchRevocations", context, [&] {
    if (request->after_sequence() > static_cast<std::uint64_t>(INT64_MAX)) {
      throw invalid_argument("after_sequence is out of range");
    }
    // Streams are free to open and held open by anyone: a fixed number.
    struct Slot {
      std::atomic<int>& count;
      ~Slot() { --count; }
    } slot{streams_};
    if (++streams_ > max_streams_) {
      throw resource_exhausted("this server already serves " + std::to_string(max_streams_) +
                               " revocation streams, the most it takes; try again later or "
                               "subscribe through another server");
    }
    std::int64_t cursor = request->after_sequence() == 0
                              ? feed_.head()
                              : static_cast<std::int64_t>(request->after_sequence());
    // The stream is taken: say so at once, so a subscriber knows it is
    // subscribed before the first event.
    writer->SendInitialMetadata();
    while (!context->IsCancelled() && !stopping_) {
      const std::uint64_t seen = feed_.generation();
      const std::int64_t floor = feed_.floor();
      auto events = feed_.after(cursor, kBatch);
      const bool from_memory = events.has_value();
      // Resumed from before what the feed holds: catch up from the database.
      if (!events) events = authority_.revocation_events(cursor, kBatch);
      for (const auto& e : *events) {
        v1::RevocationEvent out;
        to_proto(e, &out);
        if (!writer->Write(out)) return;  // the subscriber went away
        cursor = e.sequence;
      }
      if (events->size() >= kBatch) continue;
      if (!from_memory) {
        // Every settled event up to the feed's floor was in that read.
        cursor = std::max(cursor, floor);
        continue;
      }
      feed_.wait(seen, kPoll);
    }
  });
}

}  // namespace hostca::service
