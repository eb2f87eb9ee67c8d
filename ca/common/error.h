// The one error type of hostca: a kind that the service edge maps to a
// protocol status, and a message a person can act on. Internal details (SQL,
// stack traces) are logged where they happen, never put in the message.
#pragma once

#include <stdexcept>
#include <string>

namespace hostca {

enum class ErrorKind {
  kInvalidArgument,     // the request is malformed: fix the input
  kUnauthenticated,     // no valid credential was presented
  kPermissionDenied,    // the credential is valid but not for this
  kNotFound,            // the named object does not exist
  kAlreadyExists,       // the object exists already
  kFailedPrecondition,  // the system is not in a state that allows this
  kResourceExhausted,   // a limit is used up (token uses, sizes, rates)
  kUnavailable,         // a dependency (the database) cannot be reached
  kInternal,            // a bug or an unexpected failure
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

inline Error invalid_argument(const std::string& m) { return {ErrorKind::kInvalidArgument, m}; }
inline Error unauthenticated(const std::string& m) { return {ErrorKind::kUnauthenticated, m}; }
inline Error permission_denied(const std::string& m) { return {ErrorKind::kPermissionDenied, m}; }
inline Error not_found(const std::string& m) { return {ErrorKind::kNotFound, m}; }
inline Error already_exists(const std::string& m) { return {ErrorKind::kAlreadyExists, m}; }
inline Error failed_precondition(const std::string& m) {
  return {ErrorKind::kFailedPrecondition, m};
}
inline Error resource_exhausted(const std::string& m) { return {ErrorKind::kResourceExhausted, m}; }
inline Error unavailable(const std::string& m) { return {ErrorKind::kUnavailable, m}; }
inline Error internal_error(const std::string& m) { return {ErrorKind::kInternal, m}; }

const char* to_string(ErrorKind kind);

}  // namespace hostca
