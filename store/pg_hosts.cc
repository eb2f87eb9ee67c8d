// The SQL of one concept: hosts and the register of their names (migration
// 0005). An enrolment, which creates a host, is in pg_enrolment.cc.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

// Names (migration 0005). A claim is INSERT ... ON CONFLICT DO UPDATE: the
// primary key orders concurrent claims of one name across servers, every
// conflicting row is locked until the end of the unit of work (an admin's
// release waits for it), and RETURNING names the holder of each conflict.
// A host's own names are locked but not rewritten (the WHERE).
#define CLAIM_NAMES(host, names, at)                                      \
  "INSERT INTO host_names (name, host_id, claimed_at)"                    \
  " SELECT value, " host ", " at " FROM jsonb_array_elements_text(" names \
  ")"                                                                     \
  " ON CONFLICT (name) DO UPDATE SET claimed_at = host_names.claimed_at"  \
  " WHERE host_names.host_id IS DISTINCT FROM EXCLUDED.host_id RETURNING name, host_id"

// The claims of names held by another than `host`, as [[name, holder or null], ...].
#define NAME_CONFLICTS(cte, host)                                                           \
  "(SELECT coalesce(jsonb_agg(jsonb_build_array(name, host_id) ORDER BY name), '[]')::text" \
  " FROM " cte " WHERE host_id IS DISTINCT FROM " host ")"

const Statement kFindHost{"find_host",
                          "SELECT " HOST_COLUMNS " FROM hosts h WHERE h.host_id = $1::uuid"};

const Statement kLockHost{
    "lock_host", "SELECT " HOST_COLUMNS " FROM hosts h WHERE h.host_id = $1::uuid FOR UPDATE"};

// The batch form: one row per ID, in the order given (the lock order), all
// columns NULL for an ID no host has.
const Statement kLockHosts{"lock_hosts",
                           "SELECT " HOST_COLUMNS
                           " FROM unnest($1::uuid[]) WITH ORDINALITY u(wanted, i)"
                           " LEFT JOIN LATERAL (SELECT * FROM hosts x WHERE x.host_id = u.wanted"
                           " FOR UPDATE) h ON true ORDER BY u.i"};

// Several hosts claim again the names on their own records (a reissue that
// keeps them): the claim of assign_host_names, every name of the batch in
// the order given (sorted by the caller: one lock order for all), and the
// names held by another than the host that claimed them.
const Statement kClaimOwnNames{
    "claim_own_names",
    "WITH wanted AS (SELECT n, h, i FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY u(n, h, i)),"
    " claimed AS (INSERT INTO host_names (name, host_id, claimed_at)"
    " SELECT n, h, " TS(3) " FROM wanted ORDER BY i"
    " ON CONFLICT (name) DO UPDATE SET claimed_at = host_names.claimed_at"
    " WHERE host_names.host_id IS DISTINCT FROM EXCLUDED.host_id RETURNING name, host_id)"
    " SELECT coalesce(jsonb_agg(jsonb_build_array(c.name, c.host_id) ORDER BY c.name), '[]')::text"
    " FROM claimed c JOIN wanted w ON w.n = c.name WHERE c.host_id IS DISTINCT FROM w.h"};

const Statement kAssignHostNames{
    "assign_host_names",
    "WITH claimed AS (" CLAIM_NAMES("$1::uuid", "$2::jsonb", TS(5)) "),"
    " released AS (DELETE FROM host_names WHERE host_id = $1::uuid AND name NOT IN"
    " (SELECT value FROM jsonb_array_elements_text($2::jsonb)) RETURNING name),"
    " renamed AS (UPDATE hosts SET hostname = $3, aliases = $4::jsonb WHERE host_id = $1::uuid"
    " AND (hostname <> $3 OR aliases <> $4::jsonb) RETURNING 1)"
    " SELECT " NAME_CONFLICTS("claimed", "$1::uuid")};

const Statement kReleaseHostName{
    "release_host_name",
    "WITH released AS (DELETE FROM host_names WHERE name = $2 AND host_id = $1::uuid"
    " RETURNING name)"
    " UPDATE hosts SET hostname = CASE WHEN hostname = $2 THEN '' ELSE hostname END,"
    " aliases = coalesce((SELECT jsonb_agg(a.v ORDER BY a.o) FROM jsonb_array_elements(aliases)"
    " WITH ORDINALITY AS a(v, o) WHERE a.v <> to_jsonb($2::text)), '[]'::jsonb)"
    " WHERE host_id = $1::uuid AND EXISTS (SELECT 1 FROM released) RETURNING 1"};

const Statement kReserveServerNames{
    "reserve_server_names",
    "WITH claimed AS (" CLAIM_NAMES("NULL::uuid", "$1::jsonb", TS(2)) ")"
    " SELECT " NAME_CONFLICTS("claimed", "NULL::uuid")};

const Statement kSetCertificateFailure{
    "set_certificate_failure",
    "UPDATE hosts SET certificate_failure_at = CASE WHEN $2::bigint < 0 THEN NULL ELSE " TS(
        2) " END, certificate_failure_detail = $3, certificate_failure_verified = $4"
           " WHERE host_id = $1::uuid"};

// A page of hosts after the last of the previous page ($4, $5) in the
// order asked: (hostname, host_id), which walks hosts_hostname_idx, so a page
// costs its own rows, not the pages before it; or (newest_not_after,
// host_id), a top-N sort of the hosts the filters keep. One statement per
// (source, order, filter), each with its own plan: the failure filter
// reads hosts_failure_idx (migration 0015), which holds only those hosts.
// The search form keeps only hosts with a name (host name or alias) that
// starts with the prefix: the range [$8, $9) of host_names_name_pattern_idx
// (migration 0014), in its operators (~>=~, ~<~), which a generic plan can
// use whatever the prefix. LIKE $7 alone, a pattern unknown when the plan
// is made, let the planner walk every host instead (274 ms a search once
// PostgreSQL had switched to a generic plan). The newest
// certificate is the one the host row names (migration 0015). Whether a
// host has a valid certificate is a LATERAL probe of its own rows
// (certificates_host_idx), not an EXISTS: the planner made that one hashed
// scan of every certificate, 80 ms a page with 300,000 of them
// (bench/console_scale.sh, docs/benchmarks.md).
// The page's hosts are chosen and ordered first (the inner SELECT), then
// joined to their certificates: a generic plan, which does not know the
// LIMIT, joined every host before the expiry order's sort (88 ms a page).
#define LIST_HOSTS_SELECT                                                   \
  "SELECT " HOST_COLUMNS                                                    \
  ", " HOST_STATE(TS(3), TS(6)) ", c.serial_hex IS NOT NULL, " CERT_COLUMNS \
                                ", ok.valid IS NOT NULL FROM (SELECT h.* FROM hosts h"
#define LIST_HOSTS_JOIN                                                                      \
  " LEFT JOIN certificates c ON c.serial_hex = h.newest_serial_hex"                          \
  " LEFT JOIN LATERAL (SELECT true AS valid FROM certificates v WHERE v.host_id = h.host_id" \
  " AND v.revoked_at IS NULL AND v.not_after > " TS(3) " LIMIT 1) ok ON true"
// The expiry order's key: a timestamptz, cheap to sort (its microseconds,
// worked out per row through extract(), made a sort of 100,000 hosts take
// 280 ms); hosts without a certificate last. $4 is the previous page's key
// in microseconds, INT64_MAX for "infinity" and INT64_MIN before the first.
#define EXPIRY_KEY "coalesce(h.newest_not_after, 'infinity'::timestamptz)"
#define EXPIRY_AFTER                                                      \
  "CASE $4::bigint WHEN 9223372036854775807 THEN 'infinity'::timestamptz" \
  " WHEN -9223372036854775808 THEN '-infinity'::timestamptz"              \
  " ELSE 'epoch'::timestamptz + $4::bigint * interval '1 microsecond' END"

struct ListHostsStatements {
  std::vector<std::string> names, sqls;
  std::vector<Statement> statements;  // pointing into names and sqls

  // Filters: any, each HostState, failure.
  static constexpr int kFilters = 7;
  static int index(bool search, HostSort sort, int filter) {
    return (search ? 2 * kFilters : 0) + (sort == HostSort::kExpiry ? kFilters : 0) + filter;
  }

  ListHostsStatements() {
    static const char* const filter_sql[kFilters] = {
        "",
        " AND NOT h.newest_revoked AND h.newest_not_after > " TS(6),
        " AND NOT h.newest_revoked AND h.newest_not_after > " TS(
            3) " AND h.newest_not_after <= " TS(6),
        " AND NOT h.newest_revoked AND h.newest_not_after <= " TS(3),
        " AND h.newest_revoked",
        " AND h.newest_serial_hex IS NULL",
        " AND h.certificate_failure_at IS NOT NULL"};
    for (bool search : {false, true}) {
      for (HostSort sort : {HostSort::kName, HostSort::kExpiry}) {
        for (int f = 0; f < kFilters; ++f) {
          std::string sql = LIST_HOSTS_SELECT " WHERE strpos(h.hostname, $1) > 0";
          if (search) {
            sql +=
                " AND h.host_id IN (SELECT n.host_id FROM host_names n"
                " WHERE n.name ~>=~ $8 AND n.name ~<~ $9 AND n.name LIKE $7 ESCAPE '\\')";
          }
          sql += filter_sql[f];
          const std::string order = sort == HostSort::kName ? " ORDER BY h.hostname, h.host_id"
                                                            : " ORDER BY " EXPIRY_KEY ", h.host_id";
          sql += sort == HostSort::kName ? " AND (h.hostname, h.host_id) > ($4::text, $5::uuid)"
                                         : " AND (" EXPIRY_KEY ", h.host_id) > (" EXPIRY_AFTER
                                           ", $5::uuid)";
          sql += order + " LIMIT $2) h" LIST_HOSTS_JOIN + order;
          names.push_back("list_hosts_" + std::to_string(index(search, sort, f)));
          sqls.push_back(std::move(sql));
        }
      }
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      statements.push_back(Statement{names[i].c_str(), sqls[i].c_str()});
    }
  }
};

const ListHostsStatements& list_hosts_statements() {
  static const ListHostsStatements all;
  return all;
}

const Statement kRecordTrustedCas{
    "record_trusted_cas", "UPDATE hosts SET trusted_ca_spki = $2::jsonb, trust_reported_at = " TS(
                              3) " WHERE host_id = $1::uuid"};

const Statement kCountHosts{"count_hosts", "SELECT count(*) FROM hosts"};

// One pass over hosts (their state is on the row, migration 0015) and one
// over the tokens. (Eight counts over a CTE of the hosts read it eight
// times: 84 ms at 100,000 hosts.) $1 now, $2 the end of the expiring window, $3 a day on.
const Statement kCountForDashboard{
    "count_for_dashboard",
    "SELECT c.*, t.* FROM (SELECT count(*), count(*) FILTER (WHERE s.state = 'valid'),"
    " count(*) FILTER (WHERE s.state = 'expiring'), count(*) FILTER (WHERE s.state = 'expired'),"
    " count(*) FILTER (WHERE s.state = 'revoked'), count(*) FILTER (WHERE s.state = 'none'),"
    " count(*) FILTER (WHERE s.failure), count(*) FILTER (WHERE s.auto)"
    " FROM (SELECT " HOST_STATE(TS(1), TS(2)) " AS state,"
    " h.certificate_failure_at IS NOT NULL AS failure,"
    " coalesce(h.auto_reissue_until > " TS(1) ", false) AS auto FROM hosts h) s) c,"
    " (SELECT count(*) FILTER (WHERE kind = 'authorization'),"
    " count(*) FILTER (WHERE kind = 'reissue'),"
    " coalesce(sum(max_uses - uses) FILTER (WHERE kind = 'authorization'), 0),"
    " count(*) FILTER (WHERE expires_at <= " TS(3) ")"
    " FROM tokens WHERE deleted_at IS NULL AND expires_at > " TS(1) " AND uses < max_uses) t"};

const Statement kCountHostsReportingTrust{
    "count_hosts_reporting_trust",
    "SELECT count(*) FROM hosts WHERE trust_reported_at IS NOT NULL"};

const Statement kCountHostsTrusting{"count_hosts_trusting",
                                    "SELECT count(*) FROM hosts WHERE trusted_ca_spki ? $1"};

}  // namespace

const StatementList& hosts_statements() {
  static const StatementList all = {
      &kLockHosts,         &kClaimOwnNames,   &kFindHost,           &kLockHost,
      &kAssignHostNames,   &kReleaseHostName, &kReserveServerNames, &kSetCertificateFailure,
      &kRecordTrustedCas,  &kCountHosts,      &kCountForDashboard,  &kCountHostsReportingTrust,
      &kCountHostsTrusting};
  static const StatementList with_lists = [] {
    StatementList l = all;
    for (const auto& st : list_hosts_statements().statements) l.push_back(&st);
    return l;
  }();
  return with_lists;
}

std::optional<HostRow> PgTx::find_host(const std::string& host_id) {
  const auto r = run(w_, kFindHost, host_id);
  if (r.empty()) return std::nullopt;
  return host_from(r[0], 0);
}

std::vector<HostSummaryRow> PgTx::list_hosts(const HostQuery& q) {
  std::vector<HostSummaryRow> out;
  const bool by_name = q.sort == HostSort::kName;
  const std::string after_key =
      q.after ? q.after->first
              : (by_name ? std::string() : std::to_string(std::numeric_limits<long long>::min()));
  const std::string after_id =
      q.after ? q.after->second : std::string("00000000-0000-0000-0000-000000000000");
  int filter = 0;
  if (q.failure_only) {
    filter = 6;
  } else if (q.state) {
    filter = 1 + static_cast<int>(*q.state);
  }
  const bool search = !q.name_prefix.empty();
  const Statement& st =
      list_hosts_statements()
          .statements[static_cast<std::size_t>(ListHostsStatements::index(search, q.sort, filter))];
  const long long now = to_unix_micros(q.now);
  const long long soon = to_unix_micros(q.now + kExpiringWithin);
  pqxx::result r;
  if (search) {
    std::string pattern;
    for (char c : q.name_prefix) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    // Names are ASCII (letters, digits, '-', '.'; HostQuery): the first
    // string after every name with the prefix is the prefix with its last
    // character one higher.
    std::string past = q.name_prefix;
    past.back() = static_cast<char>(past.back() + 1);
    r = run(w_, st, q.hostname_contains, static_cast<long long>(q.limit), now, after_key, after_id,
            soon, pattern, q.name_prefix, past);
  } else {
    r = run(w_, st, q.hostname_contains, static_cast<long long>(q.limit), now, after_key, after_id,
            soon);
  }
  for (const auto& row : r) {
    HostSummaryRow s;
    s.host = host_from(row, 0);
    s.state = host_state_named(row[kHostColumns].as<std::string>()).value_or(HostState::kNone);
    if (row[kHostColumns + 1].as<bool>()) {
      s.newest_certificate = certificate_from(row, kHostColumns + 2);
    }
    s.has_valid_certificate = row[kHostColumns + 2 + kCertColumns].as<bool>();
    out.push_back(std::move(s));
  }
  return out;
}

DashboardCounts PgTx::count_for_dashboard(TimePoint now) {
  const auto r =
      run(w_, kCountForDashboard, to_unix_micros(now), to_unix_micros(now + kExpiringWithin),
          to_unix_micros(now + std::chrono::hours(24)));
  const auto& row = r[0];
  DashboardCounts c;
  std::int64_t* fields[] = {&c.hosts,
                            &c.valid,
                            &c.expiring,
                            &c.expired,
                            &c.revoked,
                            &c.none,
                            &c.failure_reported,
                            &c.auto_reissue_allowed,
                            &c.authorization_usable,
                            &c.reissue_usable,
                            &c.authorization_uses_left,
                            &c.tokens_expiring_within_a_day};
  for (std::size_t i = 0; i < std::size(fields); ++i)
    *fields[i] = row[static_cast<int>(i)].as<std::int64_t>();
  return c;
}

std::optional<HostRow> PgTx::lock_host(const std::string& host_id) {
  const auto r = run(w_, kLockHost, host_id);
  if (r.empty()) return std::nullopt;
  return host_from(r[0], 0);
}

std::vector<std::optional<HostRow>> PgTx::lock_hosts(const std::vector<std::string>& host_ids) {
  ArrayLiteral ids;
  for (const auto& id : host_ids) ids.add(id);
  std::vector<std::optional<HostRow>> out;
  for (const auto& row : run(w_, kLockHosts, ids.str())) {
    if (row[0].is_null()) {
      out.emplace_back();
    } else {
      out.emplace_back(host_from(row, 0));
    }
  }
  if (out.size() != host_ids.size()) throw internal_error("lock_hosts: rows lost");
  return out;
}

std::vector<NameHolder> PgTx::claim_own_names(const std::vector<HostRow>& hosts, TimePoint now) {
  std::vector<std::pair<std::string, std::string>> claims;
  for (const auto& h : hosts) {
    if (h.hostname.empty()) throw internal_error("a host's names start with its host name");
    for (const auto& n : names_of(h.hostname, h.aliases)) claims.emplace_back(n, h.host_id);
  }
  std::sort(claims.begin(), claims.end());
  claims.erase(std::unique(claims.begin(), claims.end()), claims.end());
  ArrayLiteral names, ids;
  for (const auto& [n, id] : claims) {
    names.add(n);
    ids.add(id);
  }
  const auto r = run(w_, kClaimOwnNames, names.str(), ids.str(), to_unix_micros(now));
  return name_holders(r[0][0].as<std::string>());
}

std::vector<NameHolder> PgTx::assign_host_names(const std::string& host_id,
                                                const std::string& hostname,
                                                const std::vector<std::string>& aliases,
                                                TimePoint now) {
  if (hostname.empty()) throw internal_error("a host's names start with its host name");
  const auto r =
      run(w_, kAssignHostNames, host_id, nlohmann::json(names_of(hostname, aliases)).dump(),
          hostname, aliases_json(aliases), to_unix_micros(now));
  return name_holders(r[0][0].as<std::string>());
}

bool PgTx::release_host_name(const std::string& host_id, const std::string& name) {
  return run(w_, kReleaseHostName, host_id, name).affected_rows() == 1;
}

std::vector<NameHolder> PgTx::reserve_server_names(const std::vector<std::string>& names,
                                                   TimePoint now) {
  const auto r = run(w_, kReserveServerNames, nlohmann::json(names).dump(), to_unix_micros(now));
  return name_holders(r[0][0].as<std::string>());
}

void PgTx::set_auto_reissue_until(const std::string& host_id, std::optional<TimePoint> until) {
  hold(nlohmann::json{{"op", "auto_reissue"},
                      {"host_id", host_id},
                      {"until", until ? to_unix_micros(*until) : static_cast<std::int64_t>(-1)}}
           .dump());
}

void PgTx::set_certificate_failure(const std::string& host_id, std::optional<TimePoint> at,
                                   const std::string& detail, bool verified) {
  run(w_, kSetCertificateFailure, host_id, at ? to_unix_micros(*at) : static_cast<std::int64_t>(-1),
      detail, verified && at.has_value());
}

void PgTx::record_trusted_cas(const std::string& host_id, const std::vector<std::string>& spkis,
                              TimePoint at) {
  run(w_, kRecordTrustedCas, host_id, nlohmann::json(spkis).dump(), to_unix_micros(at));
}

std::int64_t PgTx::count_hosts() { return run(w_, kCountHosts)[0][0].as<std::int64_t>(); }

std::int64_t PgTx::count_hosts_reporting_trust() {
  return run(w_, kCountHostsReportingTrust)[0][0].as<std::int64_t>();
}

std::int64_t PgTx::count_hosts_trusting(const std::string& spki_sha256) {
  return run(w_, kCountHostsTrusting, spki_sha256)[0][0].as<std::int64_t>();
}

}  // namespace hostca::store
