#include "service/convert.h"

#include <algorithm>
#include <limits>

#include "common/error.h"

namespace hostca::service {

void to_proto(TimePoint t, google::protobuf::Timestamp* out) {
  const auto us = to_unix_micros(t);
  std::int64_t secs = us / 1000000;
  std::int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<std::int32_t>(rem * 1000));
}

Duration from_proto(const google::protobuf::Duration& d, const std::string& what) {
  if (d.seconds() < 0 || d.nanos() < 0) throw invalid_argument(what + " must not be negative");
  if (d.seconds() > 100LL * 365 * 86400) throw invalid_argument(what + " is too long");
  return std::chrono::seconds(d.seconds()) +
         std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(d.nanos()));
}

TimePoint from_proto(const google::protobuf::Timestamp& t, const std::string& what) {
  if (t.seconds() < 0 || t.seconds() > 253402300799LL || t.nanos() < 0 || t.nanos() > 999999999) {
    throw invalid_argument(what + " must be a time between 1970 and 9999");
  }
  return TimePoint(std::chrono::seconds(t.seconds())) +
         std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(t.nanos()));
}

HostListRequest from_proto(const v1::ListHostsRequest& in) {
  HostListRequest r;
  r.hostname_contains = in.hostname_contains();
  r.search = in.search();
  r.page_token = in.page_token();
  r.limit = in.limit();
  r.state = in.state();
  r.sort = in.sort();
  return r;
}

store::AuditFilter from_proto(const v1::ListAuditEventsRequest& in) {
  store::AuditFilter f;
  if (in.after_sequence() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw invalid_argument("after_sequence is past the last possible event");
  }
  f.after_sequence = static_cast<std::int64_t>(in.after_sequence());
  f.limit = in.limit();
  f.action = in.action();
  f.actor = in.actor();
  f.subject = in.subject();
  if (in.has_since()) f.since = from_proto(in.since(), "since");
  if (in.has_until()) f.until = from_proto(in.until(), "until");
  return f;
}

void to_proto(const CaCertificateView& ca, const std::vector<AnnouncedCaKey>& keys,
              v1::GetCACertificateResponse* out) {
  out->set_certificate_der(ca.der.data(), ca.der.size());
  out->set_certificate_pem(ca.pem);
  out->set_sha256_fingerprint(ca.sha256_fingerprint);
  out->set_spki_sha256(ca.spki_sha256);
  for (const auto& k : keys) to_proto(k, out->add_ca_keys());
}

void to_proto(const AnnouncedCaKey& key, v1::CaKey* out) {
  out->set_generation(static_cast<std::uint32_t>(key.certificate.generation));
  out->set_state(to_string(key.state));
  out->set_certificate_der(key.certificate.der.data(), key.certificate.der.size());
  out->set_sha256_fingerprint(key.certificate.sha256_fingerprint);
  out->set_spki_sha256(key.certificate.spki_sha256);
  out->set_new_with_old_der(key.new_with_old_der.data(), key.new_with_old_der.size());
  out->set_old_with_new_der(key.old_with_new_der.data(), key.old_with_new_der.size());
  out->set_previous_spki_sha256(key.previous_spki_sha256);
}

void to_proto(const CaStatus& status, v1::GetCaStatusResponse* out) {
  out->set_phase(status.phase);
  out->set_hosts(static_cast<std::uint64_t>(status.hosts));
  out->set_hosts_reporting(static_cast<std::uint64_t>(status.hosts_reporting));
  out->set_warning(status.warning);
  for (const auto& k : status.keys) {
    auto* o = out->add_keys();
    o->set_generation(static_cast<std::uint32_t>(k.key.certificate.generation));
    o->set_state(to_string(k.key.state));
    o->set_sha256_fingerprint(k.key.certificate.sha256_fingerprint);
    o->set_spki_sha256(k.key.certificate.spki_sha256);
    o->set_key_algorithm(k.key_algorithm);
    o->set_held_in(k.held_in);
    to_proto(k.not_after, o->mutable_not_after());
    o->set_hosts_trusting(static_cast<std::uint64_t>(k.hosts_trusting));
    o->set_valid_certificates(static_cast<std::uint64_t>(k.valid_certificates));
    o->set_emergency(k.emergency);
    o->set_publishing(k.publishing);
    if (!k.key.new_with_old_der.empty()) {
      o->set_new_with_old_sha256(to_hex(sha256(k.key.new_with_old_der)));
    }
    if (!k.key.old_with_new_der.empty()) {
      o->set_old_with_new_sha256(to_hex(sha256(k.key.old_with_new_der)));
    }
  }
}

CrlShardQuery from_proto(const v1::ListCrlShardsRequest& in) {
  CrlShardQuery q;
  if (in.ca_generation() > 1000000) throw invalid_argument("ca_generation names no CA key");
  q.ca_generation = static_cast<int>(in.ca_generation());
  if (in.has_after_shard()) q.after_shard = in.after_shard();
  q.limit = in.limit();
  return q;
}

std::string crl_http_path(int ca_generation, int shard) {
  return "/crl/g" + std::to_string(ca_generation) + "/" +
         (shard == store::kCaCrlScope ? std::string("ca") : std::to_string(shard)) + ".crl";
}

void to_proto(const CrlShardHead& h, v1::CrlShardInfo* out) {
  out->set_ca_generation(static_cast<std::uint32_t>(h.ca_generation));
  out->set_shard(h.shard);
  out->set_crl_number(static_cast<std::uint64_t>(h.crl_number));
  if (h.this_update) to_proto(*h.this_update, out->mutable_this_update());
  if (h.next_update) to_proto(*h.next_update, out->mutable_next_update());
  out->set_stale(h.stale);
  out->set_http_path(crl_http_path(h.ca_generation, h.shard));
}

void to_proto(const Dashboard& d, v1::GetDashboardResponse* out) {
  to_proto(d.as_of, out->mutable_as_of());
  const auto u = [](std::int64_t n) { return static_cast<std::uint64_t>(n); };
  auto* hosts = out->mutable_hosts();
  hosts->set_hosts(u(d.counts.hosts));
  hosts->set_valid(u(d.counts.valid));
  hosts->set_expiring(u(d.counts.expiring));
  hosts->set_expired(u(d.counts.expired));
  hosts->set_revoked(u(d.counts.revoked));
  hosts->set_none(u(d.counts.none));
  hosts->set_failure_reported(u(d.counts.failure_reported));
  hosts->set_auto_reissue_allowed(u(d.counts.auto_reissue_allowed));
  auto* tokens = out->mutable_tokens();
  tokens->set_authorization_usable(u(d.counts.authorization_usable));
  tokens->set_reissue_usable(u(d.counts.reissue_usable));
  tokens->set_authorization_uses_left(u(d.counts.authorization_uses_left));
  tokens->set_expiring_within_a_day(u(d.counts.tokens_expiring_within_a_day));
  for (const auto& s : d.crl_summary) {
    auto* o = out->add_crl_summary();
    o->set_ca_generation(static_cast<std::uint32_t>(s.ca_generation));
    o->set_shards(static_cast<std::uint32_t>(s.shards));
    o->set_stale(static_cast<std::uint32_t>(s.stale));
    if (s.soonest_next_update) to_proto(*s.soonest_next_update, o->mutable_soonest_next_update());
    o->set_lowest_crl_number(u(s.lowest_crl_number));
    o->set_highest_crl_number(u(s.highest_crl_number));
  }
  for (const auto& h : d.crl_soonest) to_proto(h, out->add_crl_shards());
  to_proto(d.ca, out->mutable_ca());
  for (const auto& e : d.recent_events) to_proto(e, out->add_recent_events());
  out->set_expiring_within_days(static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::hours>(store::kExpiringWithin).count() / 24));
}

void to_proto(const CrlShardPage& page, v1::ListCrlShardsResponse* out) {
  for (const auto& h : page.shards) to_proto(h, out->add_shards());
  if (page.next_after_shard) out->set_next_after_shard(*page.next_after_shard);
}

EnrollmentRequest from_proto(const v1::RequestCertificateRequest& in) {
  EnrollmentRequest r;
  r.csr.assign(in.csr().begin(), in.csr().end());
  r.hostname = in.hostname();
  r.aliases.assign(in.aliases().begin(), in.aliases().end());
  r.authorization_token = in.authorization_token();
  return r;
}

namespace {
void certificate_to_proto(const std::string& host_id, const IssuedCertificate& issued,
                          const CaCertificateView& ca, v1::CertificateResponse* out) {
  out->set_host_id(host_id);
  out->set_certificate_der(issued.der.data(), issued.der.size());
  out->set_certificate_pem(issued.pem());
  out->set_serial_hex(issued.serial_hex);
  to_proto(issued.not_after, out->mutable_not_after());
  out->set_ca_certificate_der(ca.der.data(), ca.der.size());
}
}  // namespace

void to_proto(const Enrollment& e, const CaCertificateView& ca, v1::CertificateResponse* out) {
  certificate_to_proto(e.host_id, e.certificate, ca, out);
}

ReissueRequest from_proto(const v1::ReissueCertificateRequest& in) {
  ReissueRequest r;
  r.host_id = in.host_id();
  r.csr.assign(in.csr().begin(), in.csr().end());
  r.reissue_token = in.reissue_token();
  r.hostname = in.hostname();
  r.aliases.assign(in.aliases().begin(), in.aliases().end());
  return r;
}

void to_proto(const Reissue& r, const CaCertificateView& ca, v1::CertificateResponse* out) {
  certificate_to_proto(r.host_id, r.certificate, ca, out);
  for (const auto& s : r.revoked_serials) out->add_revoked_serials_hex(s);
}

NewReissueToken from_proto(const v1::CreateReissueTokenRequest& in) {
  NewReissueToken t;
  t.host_id = in.host_id();
  if (in.has_valid_for()) t.valid_for = from_proto(in.valid_for(), "valid_for");
  t.reason = in.reason();
  return t;
}

RevocationRequest from_proto(const v1::RevokeCertificateRequest& in) {
  RevocationRequest r;
  r.serial_hex = in.serial_hex();
  r.host_id = in.host_id();
  if (in.target_case() == v1::RevokeCertificateRequest::TARGET_NOT_SET) {
    throw invalid_argument("name a serial_hex or a host_id to revoke");
  }
  // Out-of-range codes stay out of range: the domain names the accepted ones.
  r.reason_code = static_cast<int>(std::min<std::uint32_t>(in.reason(), 1000));
  return r;
}

void to_proto(const store::CrlShardRow& crl, v1::CRL* out) {
  out->set_shard(static_cast<std::uint32_t>(crl.shard));
  out->set_crl_number(static_cast<std::uint64_t>(crl.crl_number));
  to_proto(crl.this_update, out->mutable_this_update());
  to_proto(crl.next_update, out->mutable_next_update());
  out->set_crl_der(crl.der.data(), crl.der.size());
  out->set_ca_generation(static_cast<std::uint32_t>(crl.ca_generation));
}

void to_proto(const store::RevocationEventRow& e, v1::RevocationEvent* out) {
  out->set_sequence(static_cast<std::uint64_t>(e.sequence));
  out->set_serial_hex(e.serial_hex);
  out->set_host_id(e.host_id);
  out->set_reason(static_cast<std::uint32_t>(e.reason));
  to_proto(e.revoked_at, out->mutable_revoked_at());
  out->set_shard(static_cast<std::uint32_t>(e.shard));
  out->set_crl_number(static_cast<std::uint64_t>(e.crl_number));
  out->set_ca_generation(static_cast<std::uint32_t>(e.ca_generation));
}

NewAuthorizationToken from_proto(const v1::CreateAuthorizationTokenRequest& in) {
  NewAuthorizationToken t;
  t.name = in.name();
  t.max_uses = in.max_uses();
  if (in.has_valid_for()) t.valid_for = from_proto(in.valid_for(), "valid_for");
  t.reason = in.reason();
  t.allowed_names.assign(in.allowed_names().begin(), in.allowed_names().end());
  return t;
}

NameRelease from_proto(const v1::ReleaseHostNameRequest& in) {
  NameRelease r;
  r.host_id = in.host_id();
  r.name = in.name();
  r.revoke_certificates = in.revoke_certificates();
  if (in.reason() != 0)
    r.reason_code = static_cast<int>(std::min<std::uint32_t>(in.reason(), 1000));
  return r;
}

void to_proto(const CreatedToken& token, v1::CreateTokenResponse* out) {
  out->set_token(token.token.reveal());
  out->set_token_id(token.token_id);
  to_proto(token.expires_at, out->mutable_expires_at());
}

void to_proto(const TokenView& view, v1::TokenInfo* out) {
  const store::TokenRow& t = view.token;
  out->set_token_id(t.token_id);
  out->set_kind(store::to_string(t.kind));
  out->set_name(t.name);
  out->set_reason(t.reason);
  out->set_max_uses(static_cast<std::uint32_t>(t.max_uses));
  out->set_uses(static_cast<std::uint32_t>(t.uses));
  to_proto(t.created_at, out->mutable_created_at());
  to_proto(t.expires_at, out->mutable_expires_at());
  if (t.deleted_at) to_proto(*t.deleted_at, out->mutable_deleted_at());
  if (t.host_id) out->set_host_id(*t.host_id);
  out->set_state(to_string(view.state));
  for (const auto& n : t.allowed_names) out->add_allowed_names(n);
}

void to_proto(const CertificateView& view, v1::CertificateInfo* out) {
  const store::CertificateRow& c = view.certificate;
  out->set_serial_hex(c.serial_hex);
  to_proto(c.not_before, out->mutable_not_before());
  to_proto(c.not_after, out->mutable_not_after());
  out->set_kind(store::to_string(c.kind));
  if (c.revoked_at) {
    out->set_revoked(true);
    to_proto(*c.revoked_at, out->mutable_revoked_at());
    out->set_revocation_reason(static_cast<std::uint32_t>(c.revocation_reason.value_or(0)));
  }
  out->set_certificate_der(c.der.data(), c.der.size());
  out->set_state(to_string(view.state));
}

void to_proto(const HostView& h, v1::HostInfo* out) {
  out->set_host_id(h.host.host_id);
  out->set_hostname(h.host.hostname);
  for (const auto& a : h.host.aliases) out->add_aliases(a);
  to_proto(h.host.created_at, out->mutable_created_at());
  if (h.newest_certificate) to_proto(*h.newest_certificate, out->mutable_current_certificate());
  out->set_has_valid_certificate(h.has_valid_certificate);
  out->set_state(store::host_state_name(h.state));
  if (h.host.auto_reissue_until)
    to_proto(*h.host.auto_reissue_until, out->mutable_auto_reissue_until());
  if (h.host.certificate_failure_at) {
    to_proto(*h.host.certificate_failure_at, out->mutable_certificate_failure_at());
    out->set_certificate_failure_detail(h.host.certificate_failure_detail);
    out->set_certificate_failure_verified(h.host.certificate_failure_verified);
  }
}

void to_proto(const store::AuditRow& row, v1::AuditEvent* out) {
  out->set_sequence(static_cast<std::uint64_t>(row.sequence));
  to_proto(row.at, out->mutable_at());
  out->set_actor(row.actor);
  out->set_action(row.action);
  out->set_subject(row.subject);
  out->set_outcome(row.outcome);
  out->set_details_json(row.details_json);
}

}  // namespace hostca::service
