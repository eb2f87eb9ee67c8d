// The rows the domain hands the store for what it issues and what it audits,
// built in one place.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/certificate_issuer.h"
#include "store/rows.h"

namespace hostca {

// A host certificate: its shard and the SHA-256 of its key go with it.
store::CertificateRow certificate_record(const IssuedCertificate& issued,
                                         store::CertificateKind kind, const std::string& host_id,
                                         int crl_shard, const Bytes& spki_sha256, TimePoint now);
// The server's own TLS certificate: no host, no shard.
store::CertificateRow server_certificate_record(const IssuedCertificate& issued, TimePoint now);

store::AuditRow audit_record(TimePoint at, const std::string& actor, const std::string& action,
                             const std::string& subject, const std::string& outcome,
                             const nlohmann::json& details = nlohmann::json::object());

}  // namespace hostca
