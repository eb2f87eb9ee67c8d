// The SQL of one concept: CRL shards and the revocation stream.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

#define CRL_COLUMNS \
  "ca_generation, shard, crl_number, " US("this_update") ", " US("next_update") ", der"

// Transaction ID * 2^20 + position: 1,048,576 events per transaction (a
// host holds a few valid certificates; see migration 0002). Was * 4096
// before migration 0006: every old sequence lies below every new one, so a
// subscriber resuming from an old position misses nothing.
#define EVENTS_PER_TX "1048576"

#define SETTLED_HEAD "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint * " EVENTS_PER_TX ")"

const Statement kCreateCrlShards{
    "create_crl_shards",
    "INSERT INTO crl_shards (ca_generation, shard, crl_number, this_update, next_update, der)"
    " SELECT $1, s, 0, 'epoch', 'epoch', '' FROM generate_series(-1, $2 - 1) AS s"
    " ON CONFLICT (ca_generation, shard) DO NOTHING"};

// The current DER stays behind: the next CRL is built from the entries,
// and reading the old one back cost a TOAST fetch per publication.
// clock_timestamp() is read once the lock is held: no CRL of the shard is
// dated past it.
// clang-format off
const Statement kLockCrlShard{
    "lock_crl_shard",
    "SELECT ca_generation, shard, crl_number, " US("this_update") ", " US("next_update")
    ", ''::bytea, " US("clock_timestamp()") " FROM crl_shards"
    " WHERE ca_generation = $1 AND shard = $2 FOR UPDATE"};
// clang-format on

// The batch forms, for several shards of one key in the order given (the
// lock order): the locks, then every shard's entries.
// clang-format off
const Statement kLockCrlShards{
    "lock_crl_shards",
    "SELECT s.ca_generation, s.shard, s.crl_number, " US("s.this_update") ", " US("s.next_update")
    ", ''::bytea, " US("clock_timestamp()") " FROM unnest($2::int[]) WITH ORDINALITY u(wanted, i)"
    " JOIN LATERAL (SELECT * FROM crl_shards x WHERE x.ca_generation = $1 AND x.shard = u.wanted"
    " FOR UPDATE) s ON true ORDER BY u.i"};
// clang-format on

const Statement kListCrlEntriesOf{
    "list_crl_entries_of",
    "SELECT u.i, c.serial_hex, " WHOLE_SECONDS_US("c.revoked_at") ", c.revocation_reason, "
    WHOLE_SECONDS_US("c.not_after")
    " FROM unnest($2::int[]) WITH ORDINALITY u(wanted, i) CROSS JOIN LATERAL"
    " (SELECT serial_hex, revoked_at, revocation_reason, not_after FROM certificates"
    " WHERE ca_generation = $1 AND crl_shard = u.wanted AND revoked_at IS NOT NULL"
    " AND NOT off_crl ORDER BY serial_hex) c ORDER BY u.i, c.serial_hex"};

const Statement kLockDueCrlShard{
    "lock_due_crl_shard",
    "SELECT ca_generation, shard FROM crl_shards WHERE next_update <= " TS(1)
    " AND ca_generation = ANY($2::int[]) ORDER BY next_update, ca_generation, shard LIMIT 1"
    " FOR UPDATE SKIP LOCKED"};

const Statement kListCrlEntries{
    "list_crl_entries",
    "SELECT serial_hex, " WHOLE_SECONDS_US("revoked_at") ", revocation_reason, " WHOLE_SECONDS_US(
        "not_after") " FROM certificates WHERE ca_generation = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL"
    " AND NOT off_crl ORDER BY serial_hex"};

const Statement kSaveCrl{"save_crl",
                         "UPDATE crl_shards SET crl_number = $3, this_update = " TS(
                             4) ", next_update = " TS(5) ", der = $6"
                                                         " WHERE ca_generation = $1 AND shard = $2"};

const Statement kRetireExpiredCrlEntries{
    "retire_expired_crl_entries",
    "UPDATE certificates SET off_crl = true WHERE ca_generation = $1 AND crl_shard = $2"
    " AND revoked_at IS NOT NULL AND NOT off_crl AND not_after < " TS(3)};

// Without the DER: no TOAST read (12.5 kB a shard with a million revoked).
const Statement kListCrlHeads{"list_crl_heads",
                              "SELECT ca_generation, shard, crl_number, " US("this_update") ", " US(
                                  "next_update") ", ''::bytea FROM crl_shards"
                                                 " ORDER BY ca_generation, shard"};

const Statement kListCrls{"list_crls", "SELECT " CRL_COLUMNS
                                       " FROM crl_shards WHERE ($3 OR ca_generation = $1)"
                                       " AND CASE WHEN $4 THEN shard >= 0 ELSE shard = $2 END"
                                       " ORDER BY ca_generation, shard"};

// One key's one shard (what a NOTIFY asks for, once per publication
// elsewhere): list_crls' switches made PostgreSQL plan it on every call.
const Statement kGetCrl{
    "get_crl", "SELECT " CRL_COLUMNS " FROM crl_shards WHERE ca_generation = $1 AND shard = $2"};

const Statement kListRevocationEvents{
    "list_revocation_events",
    "SELECT sequence, serial_hex, host_id::text, reason, " US("revoked_at")
    ", shard, crl_number, ca_generation FROM revocation_events WHERE sequence > $1"
    " AND sequence < " SETTLED_HEAD
    " ORDER BY sequence LIMIT $2"};

const Statement kRevocationStreamHead{"revocation_stream_head", "SELECT " SETTLED_HEAD " - 1"};

CrlShardRow crl_from(const pqxx::row& r) {
  CrlShardRow c;
  c.ca_generation = r[0].as<int>();
  c.shard = r[1].as<int>();
  c.crl_number = r[2].as<std::int64_t>();
  c.this_update = time_of(r[3]);
  c.next_update = time_of(r[4]);
  c.der = bytes_of(r[5]);
  return c;
}

// {1, 2} as PostgreSQL's array literal.
std::string int_array(const std::vector<int>& values) {
  std::string out = "{";
  for (const int v : values) out += (out.size() > 1 ? "," : "") + std::to_string(v);
  return out + "}";
}

}  // namespace

const StatementList& crls_statements() {
  static const StatementList all = {&kCreateCrlShards,
                                    &kLockCrlShard,
                                    &kLockCrlShards,
                                    &kListCrlEntriesOf,
                                    &kLockDueCrlShard,
                                    &kListCrlEntries,
                                    &kSaveCrl,
                                    &kRetireExpiredCrlEntries,
                                    &kListCrls,
                                    &kListCrlHeads,
                                    &kGetCrl,
                                    &kListRevocationEvents,
                                    &kRevocationStreamHead};
  return all;
}

void PgTx::create_crl_shards(int ca_generation, int count) {
  run(w_, kCreateCrlShards, ca_generation, count);
}

CrlShardRow PgTx::lock_crl_shard(int ca_generation, int shard) {
  const auto r = run(w_, kLockCrlShard, ca_generation, shard);
  if (r.empty()) {
    throw internal_error("CRL shard " + std::to_string(shard) + " of CA key " +
                         std::to_string(ca_generation) + " does not exist");
  }
  CrlShardRow row = crl_from(r[0]);
  row.database_time = time_of(r[0][6]);
  return row;
}

std::vector<CrlShardRow> PgTx::lock_crl_shards(int ca_generation, const std::vector<int>& shards) {
  std::vector<CrlShardRow> out;
  for (const auto& row : run(w_, kLockCrlShards, ca_generation, int_array(shards))) {
    CrlShardRow c = crl_from(row);
    c.database_time = time_of(row[6]);
    out.push_back(std::move(c));
  }
  if (out.size() != shards.size()) {
    throw internal_error("a CRL shard of CA key " + std::to_string(ca_generation) +
                         " does not exist");
  }
  return out;
}

std::vector<std::vector<CrlEntryRow>> PgTx::list_crl_entries_of(int ca_generation,
                                                                const std::vector<int>& shards) {
  std::vector<std::vector<CrlEntryRow>> out(shards.size());
  for (const auto& row : run(w_, kListCrlEntriesOf, ca_generation, int_array(shards))) {
    const auto i = row[0].as<std::size_t>();
    if (i < 1 || i > out.size()) throw internal_error("list_crl_entries_of: a row of no shard");
    out[i - 1].push_back(
        CrlEntryRow{row[1].as<std::string>(), time_of(row[2]), row[3].as<int>(), time_of(row[4])});
  }
  return out;
}

std::optional<std::pair<int, int>> PgTx::lock_due_crl_shard(TimePoint due,
                                                            const std::vector<int>& generations) {
  const auto r = run(w_, kLockDueCrlShard, to_unix_micros(due), int_array(generations));
  if (r.empty()) return std::nullopt;
  return std::make_pair(r[0][0].as<int>(), r[0][1].as<int>());
}

std::vector<CrlEntryRow> PgTx::list_crl_entries(int ca_generation, int shard) {
  std::vector<CrlEntryRow> out;
  const auto r = run(w_, kListCrlEntries, ca_generation, shard);
  out.reserve(r.size());
  for (const auto& row : r) {
    out.push_back(
        CrlEntryRow{row[0].as<std::string>(), time_of(row[1]), row[2].as<int>(), time_of(row[3])});
  }
  return out;
}

// Held, with the DER in hostca_write's bytea array (migration 0011), not
// as hex inside the JSON: with a million revocations on record (12.5 kB
// CRLs) that cost more than the round trip it saved.
void PgTx::save_crl(const CrlShardRow& c) {
  held_crls_.push_back(c.der);
  hold(nlohmann::json{{"op", "crl"},
                      {"ca_generation", c.ca_generation},
                      {"shard", c.shard},
                      {"crl_number", c.crl_number},
                      {"this_update", to_unix_micros(c.this_update)},
                      {"next_update", to_unix_micros(c.next_update)},
                      {"index", held_crls_.size()}}
           .dump());
}

void PgTx::retire_expired_crl_entries(int ca_generation, int shard, TimePoint this_update) {
  run(w_, kRetireExpiredCrlEntries, ca_generation, shard, to_unix_micros(this_update));
}

std::vector<CrlShardRow> PgTx::list_crls(std::optional<int> ca_generation,
                                         std::optional<int> shard) {
  std::vector<CrlShardRow> out;
  if (ca_generation && shard) {
    for (const auto& row : run(w_, kGetCrl, *ca_generation, *shard)) out.push_back(crl_from(row));
    return out;
  }
  for (const auto& row : run(w_, kListCrls, ca_generation.value_or(0), shard.value_or(0),
                             !ca_generation.has_value(), !shard.has_value())) {
    out.push_back(crl_from(row));
  }
  return out;
}

std::vector<CrlShardRow> PgTx::list_crl_heads() {
  std::vector<CrlShardRow> out;
  for (const auto& row : run(w_, kListCrlHeads)) out.push_back(crl_from(row));
  return out;
}

void PgTx::append_revocation_event(const RevocationEventRow& e, int position) {
  if (position < 0 || position >= 1048576) {
    throw internal_error("at most 1,048,576 revocation events fit in one transaction");
  }
  hold(nlohmann::json{{"op", "event"},
                      {"position", position},
                      {"serial_hex", e.serial_hex},
                      {"host_id", e.host_id},
                      {"reason", e.reason},
                      {"revoked_at", to_unix_micros(e.revoked_at)},
                      {"shard", e.shard},
                      {"crl_number", e.crl_number},
                      {"ca_generation", e.ca_generation}}
           .dump());
}

std::vector<RevocationEventRow> PgTx::list_revocation_events(std::int64_t after_sequence,
                                                             std::uint32_t limit) {
  std::vector<RevocationEventRow> out;
  for (const auto& row :
       run(w_, kListRevocationEvents, after_sequence, static_cast<long long>(limit))) {
    RevocationEventRow e;
    e.sequence = row[0].as<std::int64_t>();
    e.serial_hex = row[1].as<std::string>();
    e.host_id = row[2].as<std::string>();
    e.reason = row[3].as<int>();
    e.revoked_at = time_of(row[4]);
    e.shard = row[5].as<int>();
    e.crl_number = row[6].as<std::int64_t>();
    e.ca_generation = row[7].as<int>();
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t PgTx::revocation_stream_head() {
  return run(w_, kRevocationStreamHead)[0][0].as<std::int64_t>();
}

}  // namespace hostca::store
