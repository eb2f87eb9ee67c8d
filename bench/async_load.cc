#include "async_load.h"

#include <optional>
#include <stdexcept>

#include <grpcpp/generic/generic_stub.h>

namespace hostca::bench {

namespace {

// How long a call may stay unanswered after the run's time bound.
constexpr std::chrono::seconds kCallTimeout{30};

// One of the C calls in flight.
struct Slot {
  int index = 0;
  std::size_t call = 0;
  std::optional<grpc::ClientContext> context;  // a fresh one per call, as gRPC requires
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  grpc::ByteBuffer response;
  grpc::Status status;
  SteadyClock::time_point started;
};

}  // namespace

grpc::Slice serialise(const google::protobuf::MessageLite& message) {
  std::string bytes;
  if (!message.SerializeToString(&bytes)) throw std::runtime_error("cannot serialise a request");
  return grpc::Slice(bytes);
}

Stats run_async_unary(const std::string& scenario,
                      const std::vector<std::shared_ptr<grpc::Channel>>& channels, int clients,
                      std::size_t count, double max_seconds, const UnaryLoad& load,
                      const CpuWatch& watch) {
  if (channels.empty()) throw std::runtime_error("no channel to load");
  std::vector<grpc::GenericStub> stubs;
  for (const auto& channel : channels) stubs.emplace_back(channel);
  grpc::CompletionQueue queue;
  std::vector<Slot> slots(static_cast<std::size_t>(clients));
  for (std::size_t s = 0; s < slots.size(); ++s) slots[s].index = static_cast<int>(s);
  std::vector<double> latencies;
  latencies.reserve(count);
  Stats stats;
  stats.scenario = scenario;
  stats.clients = clients;

  std::size_t next = 0;
  std::size_t in_flight = 0;
  const auto start_call = [&](Slot& slot) {
    slot.call = next++;
    slot.started = SteadyClock::now();
    // No deadline per call: a deadline is a timer set and cancelled, and a
    // grpc-timeout header that differs on every call (so HPACK cannot
    // index it). The whole run is bounded instead, below.
    slot.context.emplace();
    const grpc::ByteBuffer request = load.request(slot.call, slot.index);
    slot.reader = stubs[static_cast<std::size_t>(slot.index) % stubs.size()].PrepareUnaryCall(
        &*slot.context, load.method, request, &queue);
    slot.reader->StartCall();
    slot.reader->Finish(&slot.response, &slot.status, &slot);
    ++in_flight;
  };

  const CpuSample before = sample_cpu(watch, Edge::kStart);
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(max_seconds));
  for (auto& slot : slots) {
    if (next < count) start_call(slot);
  }
  // Calls still unanswered this long after the run's time bound are
  // cancelled (counted as CANCELLED), as a deadline would have.
  const auto give_up = std::chrono::system_clock::now() +
                       std::chrono::duration_cast<std::chrono::system_clock::duration>(
                           std::chrono::duration<double>(max_seconds)) +
                       kCallTimeout;
  bool cancelled = false;
  while (in_flight > 0) {
    void* tag = nullptr;
    bool ok = false;
    const auto got = cancelled ? (queue.Next(&tag, &ok) ? grpc::CompletionQueue::GOT_EVENT
                                                        : grpc::CompletionQueue::SHUTDOWN)
                               : queue.AsyncNext(&tag, &ok, give_up);
    if (got == grpc::CompletionQueue::SHUTDOWN) {
      throw std::runtime_error("completion queue shut down early");
    }
    if (got == grpc::CompletionQueue::TIMEOUT) {
      for (auto& slot : slots) {
        if (slot.context) slot.context->TryCancel();
      }
      cancelled = true;
      continue;
    }
    auto& slot = *static_cast<Slot*>(tag);
    const auto answered = SteadyClock::now();
    --in_flight;
    latencies.push_back(std::chrono::duration<double, std::milli>(answered - slot.started).count());
    const CallOutcome outcome =
        slot.status.ok() ? load.check(slot.call, slot.response) : status_name(slot.status);
    if (outcome.empty()) {
      ++stats.ok;
    } else {
      ++stats.errors[outcome];
    }
    slot.reader.reset();
    slot.context.reset();
    slot.response.Clear();
    if (next < count && answered < deadline && !cancelled) start_call(slot);
  }
  stats.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const CpuSample after = sample_cpu(watch, Edge::kEnd);
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }
  summarise(stats, std::move(latencies));
  account_cpu(stats, before, after, watch);
  return stats;
}

}  // namespace hostca::bench
