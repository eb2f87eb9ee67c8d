#include "domain/records.h"

namespace hostca {

store::CertificateRow certificate_record(const IssuedCertificate& issued,
                                         store::CertificateKind kind,
                                         const std::optional<std::string>& host_id, TimePoint now) {
  store::CertificateRow row;
  row.serial_hex = issued.serial_hex;
  row.host_id = host_id;
  row.kind = kind;
  row.not_before = issued.not_before;
  row.not_after = issued.not_after;
  const auto der = issued.certificate.BER_encode();
  row.der = Bytes(der.begin(), der.end());
  row.created_at = now;
  return row;
}

store::AuditRow audit_record(TimePoint at, const std::string& actor, const std::string& action,
                             const std::string& subject, const std::string& outcome,
                             const nlohmann::json& details) {
  store::AuditRow row;
  row.at = at;
  row.actor = actor;
  row.action = action;
  row.subject = subject;
  row.outcome = outcome;
  row.details_json = details.dump();
  return row;
}

}  // namespace hostca
