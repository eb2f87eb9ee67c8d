// The load generator for unary gRPC calls at the lowest cost per call: one
// completion queue polled by one thread, C calls kept in flight over a few
// HTTP/2 connections (a closed loop per slot: a slot starts its next call
// when its answer came), and every request serialised before the timed part.
// A thread per client with synchronous stubs cost about 0.5 ms of CPU per
// call on the machine under test; this costs a fraction of that.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cpu.h"
#include "load.h"

namespace hostca::bench {

struct UnaryLoad {
  // Full method name: "/hostca.v1.HostService/RequestCertificate".
  std::string method;
  // The request of call i sent from slot `slot`: slices made beforehand,
  // so this only takes references to them.
  std::function<grpc::ByteBuffer(std::size_t i, int slot)> request;
  // Checks the answer to call i (its status was OK): empty when it holds
  // what it must, else what was wrong.
  std::function<CallOutcome(std::size_t i, grpc::ByteBuffer& response)> check;
};

// Makes calls 0..count-1 with `clients` in flight, spread over `channels`,
// until all were answered or max_seconds passed (calls in flight then are
// waited for). Reports latency per call, this process's CPU per call and,
// for the processes in `watch`, their CPU per successful call.
Stats run_async_unary(const std::string& scenario,
                      const std::vector<std::shared_ptr<grpc::Channel>>& channels, int clients,
                      std::size_t count, double max_seconds, const UnaryLoad& load,
                      const CpuWatch& watch);

// A message's wire bytes, as one slice.
grpc::Slice serialise(const google::protobuf::MessageLite& message);

}  // namespace hostca::bench
