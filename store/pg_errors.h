// Turns libpqxx exceptions into hostca errors at the edge of the store. The
// database's own message goes to the log; the caller gets a kind and a
// message without SQL.
#pragma once

#include <string>
#include <utility>

#include <pqxx/except>

#include "common/error.h"

namespace hostca::store {

// Logs the libpq failure and returns the error to throw.
Error database_error(const std::string& doing, const std::exception& e);

template <typename F>
auto with_database_errors(const std::string& doing, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const pqxx::failure& e) {
    throw database_error(doing, e);
  } catch (const pqxx::usage_error& e) {
    throw database_error(doing, e);
  } catch (const pqxx::conversion_error& e) {
    throw database_error(doing, e);
  }
}

}  // namespace hostca::store
