#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "common/error.h"
#include "service/status.h"

namespace hostca {
namespace {

TEST(ToStatusCode, MapsEveryErrorKindToItsGrpcCode) {
  const std::vector<std::pair<ErrorKind, grpc::StatusCode>> expected = {
      {ErrorKind::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {ErrorKind::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED},
      {ErrorKind::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {ErrorKind::kNotFound, grpc::StatusCode::NOT_FOUND},
      {ErrorKind::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {ErrorKind::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {ErrorKind::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {ErrorKind::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {ErrorKind::kInternal, grpc::StatusCode::INTERNAL},
  };
  for (const auto& [kind, code] : expected) {
    EXPECT_EQ(service::to_status_code(kind), code) << to_string(kind);
  }
}

TEST(ToStatus, KeepsTheMessage) {
  const grpc::Status s =
      service::to_status(resource_exhausted("the authorization token is used up (1 of 1 uses)"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "the authorization token is used up (1 of 1 uses)");
}

TEST(Handle, ReturnsOkWhenTheBodySucceeds) {
  grpc::ServerContext context;
  bool ran = false;
  const grpc::Status s = service::handle("Test", &context, [&] { ran = true; });
  EXPECT_TRUE(ran);
  EXPECT_TRUE(s.ok());
}

TEST(Handle, TurnsAnErrorIntoItsStatus) {
  grpc::ServerContext context;
  const grpc::Status s =
      service::handle("Test", &context, [] { throw not_found("no host has the ID x"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no host has the ID x");
}

TEST(Handle, TurnsAnyOtherExceptionIntoInternalWithoutItsDetail) {
  grpc::ServerContext context;
  const grpc::Status s = service::handle(
      "Test", &context, [] { throw std::runtime_error("SELECT secret FROM somewhere"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message().find("SELECT"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("nothing was changed"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace hostca
