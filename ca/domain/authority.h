// The authority: every business operation of hostca, each one unit of work
// on the store. It decides policy and orders the steps; the store holds the
// SQL, the issuer builds certificates, the signer signs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "domain/certificate_issuer.h"
#include "domain/key_policy.h"
#include "domain/secret_token.h"
#include "store/store.h"

namespace hostca {

// Who makes a call, as written to the audit log ("admin:<key id>", ...).
struct Actor {
  std::string id;
};

struct TokenDefaults {
  Duration default_valid_for = std::chrono::hours(24);
  Duration max_valid_for = std::chrono::hours(24 * 365);
  std::uint32_t max_uses_limit = 1000000;

  void validate() const;
};

struct AuthorityConfig {
  KeyPolicy key_policy;
  TokenDefaults tokens;
  int crl_shards = 1;
};

struct CaCertificateView {
  Bytes der;
  std::string pem;
  std::string sha256_fingerprint;
  std::string spki_sha256;
};

struct EnrollmentRequest {
  Bytes csr;
  std::string hostname;
  std::vector<std::string> aliases;
  std::string authorization_token;
};

struct Enrollment {
  std::string host_id;
  IssuedCertificate certificate;
};

struct NewAuthorizationToken {
  std::string name;
  std::uint32_t max_uses = 0;         // 0: the default, 1
  std::optional<Duration> valid_for;  // unset: the default
  std::string reason;
};

struct CreatedToken {
  SecretToken token;
  std::string token_id;
  TimePoint expires_at;
};

enum class TokenState { kUsable, kExpired, kUsedUp, kDeleted };
TokenState token_state(const store::TokenRow& token, TimePoint now);
const char* to_string(TokenState state);

struct HostDetails {
  store::HostSummaryRow summary;
  std::vector<store::CertificateRow> certificates;
};

struct CreatedAdminKey {
  SecretToken key;
  std::string key_id;
};

class Authority {
 public:
  Authority(store::Store& store, std::shared_ptr<const CertificateIssuer> issuer,
            const Clock& clock, AuthorityConfig config);

  const CaCertificateView& ca_certificate() const { return ca_view_; }

  // First certificate of a new host against an authorization token.
  Enrollment enroll(const EnrollmentRequest& request);

  // Admin credentials. A refused attempt is written to the audit log.
  Actor authenticate_admin(const std::string& authorization_header, const std::string& peer,
                           const std::string& call);
  CreatedAdminKey create_admin_key(const Actor& actor, const std::string& name);

  CreatedToken create_authorization_token(const Actor& actor, const NewAuthorizationToken& request);
  std::vector<store::TokenRow> list_tokens(bool include_deleted);
  void delete_token(const Actor& actor, const std::string& token_id);

  std::vector<store::HostSummaryRow> list_hosts(const std::string& hostname_contains,
                                                std::uint32_t limit);
  HostDetails get_host(const std::string& host_id);

  std::vector<store::AuditRow> list_audit(std::uint64_t after_sequence, std::uint32_t limit);

  const Clock& clock() const { return clock_; }

 private:
  store::Store& store_;
  std::shared_ptr<const CertificateIssuer> issuer_;
  const Clock& clock_;
  AuthorityConfig config_;
  CaCertificateView ca_view_;
};

// Creates an admin key; used by the AdminService and, for recovery, by
// `hostca-server admin-key` with database access only.
CreatedAdminKey create_admin_key(store::Store& store, const Clock& clock, const Actor& actor,
                                 const std::string& name);

// Checks free text an admin gives (names, reasons); throws kInvalidArgument.
std::string checked_label(const std::string& text, const std::string& what, std::size_t max);

}  // namespace hostca
