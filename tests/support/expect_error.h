// Catching a hostca::Error in a test: the kind and message of what a call
// threw, with a test failure (not a crash) when it threw nothing or
// something else. Header-only: both test rings use it.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <ostream>
#include <string>

#include "common/error.h"

namespace hostca {

// Lets GoogleTest print an ErrorKind by name.
inline void PrintTo(ErrorKind kind, std::ostream* os) { *os << to_string(kind); }

namespace testing {

struct Thrown {
  bool threw = false;  // false: nothing, or not a hostca::Error
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

template <typename F>
Thrown thrown_by(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return Thrown{true, e.kind(), e.what()};
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-hostca exception: " << e.what();
    return Thrown{};
  }
  ADD_FAILURE() << "threw nothing";
  return Thrown{};
}

// Like thrown_by, for calls that may or may not throw.
template <typename F>
Thrown thrown_by_or_nothing(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return Thrown{true, e.kind(), e.what()};
  }
  return Thrown{};
}

}  // namespace testing
}  // namespace hostca

// Asserts that `expr` throws hostca::Error of `kind`; evaluates to the
// message so a test can check what it tells a person.
#define HOSTCA_EXPECT_ERROR(expr, expected_kind)                                     \
  [&]() {                                                                            \
    const ::hostca::testing::Thrown t = ::hostca::testing::thrown_by([&] { expr; }); \
    EXPECT_TRUE(t.threw) << #expr;                                                   \
    if (t.threw) {                                                                   \
      EXPECT_EQ(t.kind, expected_kind) << #expr << ": " << t.message;                \
    }                                                                                \
    return t.message;                                                                \
  }()
