// The one place where hostca errors become gRPC statuses, and the wrapper
// every handler runs in: it logs the call (never its secrets) and turns any
// failure into a status with a message a person can act on.
#pragma once

#include <chrono>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/error.h"

namespace hostca::service {

grpc::StatusCode to_status_code(ErrorKind kind);
// "OK", "UNAUTHENTICATED", ...: the names gRPC gives its codes (logs, metrics).
const char* status_code_name(grpc::StatusCode code);
grpc::Status to_status(const Error& error);

// Runs body; maps an Error to its status, anything else to INTERNAL.
// `subject` may be filled by body (a host ID, a token ID) for the log line.
template <typename Body>
grpc::Status handle(const char* rpc, grpc::ServerContextBase* context, Body&& body);

void log_call(const char* rpc, const grpc::ServerContextBase* context, const grpc::Status& status,
              std::chrono::steady_clock::duration elapsed);

grpc::Status internal_status(const char* rpc, const std::exception& e);

template <typename Body>
grpc::Status handle(const char* rpc, grpc::ServerContextBase* context, Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  try {
    body();
    status = grpc::Status::OK;
  } catch (const Error& e) {
    status = to_status(e);
  } catch (const std::exception& e) {
    status = internal_status(rpc, e);
  }
  log_call(rpc, context, status, std::chrono::steady_clock::now() - start);
  return status;
}

}  // namespace hostca::service
