// The rows the domain hands the store for what it issues and what it audits,
// built in one place.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/certificate_issuer.h"
#include "store/rows.h"

namespace hostca {

store::CertificateRow certificate_record(const IssuedCertificate& issued,
                                         store::CertificateKind kind,
                                         const std::optional<std::string>& host_id, TimePoint now);

store::AuditRow audit_record(TimePoint at, const std::string& actor, const std::string& action,
                             const std::string& subject, const std::string& outcome,
                             const nlohmann::json& details = nlohmann::json::object());

}  // namespace hostca
