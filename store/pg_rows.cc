// The row converters of the PostgreSQL store (store/pg_sql.h).
#include <nlohmann/json.hpp>

#include "common/bytes.h"
#include "store/pg_sql.h"

namespace hostca::store {

ArrayLiteral& ArrayLiteral::add(const std::string& element) {
  text_ += text_.size() == 1 ? "\"" : ",\"";
  for (char ch : element) {
    if (ch == '"' || ch == '\\') text_ += '\\';
    text_ += ch;
  }
  text_ += '"';
  return *this;
}

// Hex digits need no escaping: only the backslash of the "\x" prefix does.
ArrayLiteral& ArrayLiteral::add_bytes(const Bytes& b) {
  text_ += text_.size() == 1 ? "\"\\\\x" : ",\"\\\\x";
  text_ += to_hex(b);
  text_ += '"';
  return *this;
}

pqxx::binarystring bin(const Bytes& b) { return pqxx::binarystring(b.data(), b.size()); }

Bytes bytes_of(const pqxx::field& f) {
  const pqxx::binarystring bs(f);
  return Bytes(bs.begin(), bs.end());
}

std::optional<TimePoint> optional_time(const pqxx::field& f) {
  const auto v = f.as<std::int64_t>();
  if (v < 0) return std::nullopt;
  return from_unix_micros(v);
}

TimePoint time_of(const pqxx::field& f) { return from_unix_micros(f.as<std::int64_t>()); }

CertificateKind certificate_kind_of(const std::string& s) {
  if (s == "renew") return CertificateKind::kRenew;
  if (s == "reissue") return CertificateKind::kReissue;
  if (s == "server") return CertificateKind::kServer;
  return CertificateKind::kEnroll;
}

std::string aliases_json(const std::vector<std::string>& aliases) {
  return nlohmann::json(aliases).dump();
}

std::vector<std::string> aliases_from_json(const std::string& text) {
  return nlohmann::json::parse(text).get<std::vector<std::string>>();
}

// Reads HOST_COLUMNS starting at column `at`.
HostRow host_from(const pqxx::row& r, int at) {
  HostRow h;
  h.host_id = r[at].as<std::string>();
  h.hostname = r[at + 1].as<std::string>();
  h.aliases = aliases_from_json(r[at + 2].as<std::string>());
  h.created_at = time_of(r[at + 3]);
  h.auto_reissue_until = optional_time(r[at + 4]);
  h.crl_shard = r[at + 5].as<int>();
  h.certificate_failure_at = optional_time(r[at + 6]);
  h.certificate_failure_detail = r[at + 7].as<std::string>();
  h.certificate_failure_verified = r[at + 8].as<bool>();
  h.newest_serial_hex = r[at + 9].as<std::string>();
  h.newest_not_after = optional_time(r[at + 10]);
  h.newest_revoked = r[at + 11].as<bool>();
  return h;
}

// Reads CERT_COLUMNS starting at column `at`.
CertificateRow certificate_from(const pqxx::row& r, int at) {
  CertificateRow c;
  c.serial_hex = r[at].as<std::string>();
  if (auto host = r[at + 1].as<std::string>(); !host.empty()) c.host_id = host;
  c.kind = certificate_kind_of(r[at + 2].as<std::string>());
  c.not_before = time_of(r[at + 3]);
  c.not_after = time_of(r[at + 4]);
  c.der = bytes_of(r[at + 5]);
  c.created_at = time_of(r[at + 6]);
  c.revoked_at = optional_time(r[at + 7]);
  if (const int reason = r[at + 8].as<int>(); reason >= 0) c.revocation_reason = reason;
  if (const int shard = r[at + 9].as<int>(); shard >= 0) c.crl_shard = shard;
  c.spki_sha256 = bytes_of(r[at + 10]);
  c.ca_generation = r[at + 11].as<int>();
  return c;
}

std::string audit_json_array(const std::vector<AuditRow>& rows) {
  std::string out = "[";
  for (const auto& a : rows) {
    if (out.size() > 1) out += ',';
    out += "{\"at\":" + std::to_string(to_unix_micros(a.at)) +
           ",\"actor\":" + nlohmann::json(a.actor).dump() +
           ",\"action\":" + nlohmann::json(a.action).dump() +
           ",\"subject\":" + nlohmann::json(a.subject).dump() +
           ",\"outcome\":" + nlohmann::json(a.outcome).dump() +
           ",\"details\":" + (a.details_json.empty() ? std::string("{}") : a.details_json) + "}";
  }
  return out + "]";
}

std::vector<std::string> names_of(const std::string& hostname,
                                  const std::vector<std::string>& aliases) {
  std::vector<std::string> names{hostname};
  names.insert(names.end(), aliases.begin(), aliases.end());
  return names;
}

std::vector<NameHolder> name_holders(const std::string& text) {
  std::vector<NameHolder> out;
  for (const auto& pair : nlohmann::json::parse(text)) {
    NameHolder h;
    h.name = pair.at(0).get<std::string>();
    if (!pair.at(1).is_null()) h.host_id = pair.at(1).get<std::string>();
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace hostca::store
