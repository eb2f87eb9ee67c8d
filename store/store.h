// The storage interface the domain depends on, in business words. All SQL
// lives behind it (pg_store.cc, pg_tx.cc). A business operation runs in one
// unit of work: Store::transact hands the domain a Tx, commits when the
// function returns and rolls back when it throws.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/rows.h"

namespace hostca::store {

class Tx {
 public:
  virtual ~Tx() = default;

  // The CA.
  virtual std::optional<CaRow> find_ca() = 0;
  // Inserts the CA; throws Error(kAlreadyExists) if one exists.
  virtual void insert_ca(const CaRow& ca) = 0;

  // Tokens. find_token_for_update locks the row until the end of the unit of
  // work, so concurrent uses of one token are counted one after the other.
  virtual void insert_token(const TokenRow& token) = 0;
  virtual std::optional<TokenRow> find_token_for_update(const Bytes& token_hash) = 0;
  virtual std::optional<TokenRow> find_token_by_id(const std::string& token_id) = 0;
  virtual void count_token_use(const std::string& token_id) = 0;
  virtual void mark_token_deleted(const std::string& token_id, TimePoint at) = 0;
  virtual std::vector<TokenRow> list_tokens(bool include_deleted) = 0;

  // Hosts. lock_hostname serializes enrolments of one host name across
  // servers until the end of the unit of work.
  virtual void lock_hostname(const std::string& hostname) = 0;
  virtual std::optional<std::string> find_host_with_valid_certificate(const std::string& hostname,
                                                                      TimePoint now) = 0;
  virtual void insert_host(const HostRow& host) = 0;
  virtual std::optional<HostRow> find_host(const std::string& host_id) = 0;
  virtual std::vector<HostSummaryRow> list_hosts(const std::string& hostname_contains,
                                                 std::uint32_t limit, TimePoint now) = 0;

  // Certificates.
  virtual void insert_certificate(const CertificateRow& certificate) = 0;
  virtual std::vector<CertificateRow> list_host_certificates(const std::string& host_id) = 0;

  // Admin keys.
  virtual void insert_admin_key(const AdminKeyRow& key) = 0;
  virtual std::optional<AdminKeyRow> find_admin_key(const Bytes& key_hash) = 0;

  // The audit log: append only.
  virtual void append_audit(const AuditRow& row) = 0;
  virtual std::vector<AuditRow> list_audit(std::int64_t after_sequence, std::uint32_t limit) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Runs work in one transaction; retries it on a serialization failure or
  // deadlock, so work must not have effects outside the Tx.
  virtual void transact(const std::function<void(Tx&)>& work) = 0;
};

}  // namespace hostca::store
