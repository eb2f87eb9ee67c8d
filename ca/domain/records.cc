#include "domain/records.h"

namespace hostca {

namespace {
store::CertificateRow record(const IssuedCertificate& issued, store::CertificateKind kind,
                             TimePoint now) {
  store::CertificateRow row;
  row.serial_hex = issued.serial_hex;
  row.kind = kind;
  row.not_before = issued.not_before;
  row.not_after = issued.not_after;
  row.der = issued.der;
  row.created_at = now;
  row.ca_generation = issued.ca_generation;
  return row;
}
}  // namespace

store::CertificateRow certificate_record(const IssuedCertificate& issued,
                                         store::CertificateKind kind, const std::string& host_id,
                                         int crl_shard, const Bytes& spki_sha256, TimePoint now) {
  store::CertificateRow row = record(issued, kind, now);
  row.host_id = host_id;
  row.crl_shard = crl_shard;
  row.spki_sha256 = spki_sha256;
  return row;
}

store::CertificateRow server_certificate_record(const IssuedCertificate& issued, TimePoint now) {
  return record(issued, store::CertificateKind::kServer, now);
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
