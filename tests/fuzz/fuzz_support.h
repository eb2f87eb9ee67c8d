// What every fuzz target shares: the rule that only hostca::Error may escape
// the code under test, and an Authority wired to a store that refuses every
// unit of work, so a request runs through exactly the checks that need no
// database and stops where the first SQL statement would be.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/bytes.h"
#include "domain/authority.h"

namespace hostca::fuzz {

// Runs `body`; Error (a refusal of bad input) and reaching the store are
// expected outcomes. Any other exception aborts the process, which libFuzzer
// reports as a crash with the input that caused it.
void expect_only_errors(const char* what, const std::function<void()>& body);

// Aborts with `message` when `ok` is false: a property of a successful parse.
void require(bool ok, const char* message);

// Bad input makes protobuf log a line per message (invalid UTF-8 in a
// string field); the refusal is what is under test, not the log line.
void quiet_protobuf_logs();

// An Authority with the default configuration and a fresh P-256 CA over a
// store whose transact() ends the call. Built once per process.
Authority& authority();

// The admin the admin calls run as (authentication is fuzzed on its own).
inline Actor fuzz_admin() { return Actor{"admin:fuzz"}; }

inline std::string as_string(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}
inline Bytes as_bytes(const std::uint8_t* data, std::size_t size) {
  return Bytes(data, data + size);
}

}  // namespace hostca::fuzz
