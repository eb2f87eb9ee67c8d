// The SQL of one concept: authorization and reissue tokens.
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>

#include "common/error.h"
#include "store/pg_sql.h"
#include "store/pg_tx.h"

namespace hostca::store {

namespace {

const Statement kInsertToken{
    "insert_token",
    "INSERT INTO tokens (token_id, kind, token_hash, name, reason, host_id, max_uses, uses,"
    " created_at, expires_at, created_by, allowed_names)"
    " VALUES ($1::uuid, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, $8, " TS(9) ", " TS(10) ", $11,"
    " $12::jsonb)"};

const Statement kFindTokenForUpdate{"find_token_for_update",
                                    "SELECT " TOKEN_COLUMNS
                                    " FROM tokens WHERE token_hash = $1 FOR UPDATE"};

// The batch form: one row per hash, in the order given (the lock order),
// all columns NULL for a hash no token has.
const Statement kLockTokens{
    "lock_tokens", "SELECT " TOKEN_COLUMNS
                   " FROM unnest($1::bytea[]) WITH ORDINALITY u(wanted, i)"
                   " LEFT JOIN LATERAL (SELECT * FROM tokens x WHERE x.token_hash = u.wanted"
                   " FOR UPDATE) t ON true ORDER BY u.i"};

const Statement kFindTokenById{"find_token_by_id",
                               "SELECT " TOKEN_COLUMNS " FROM tokens WHERE token_id = $1::uuid"};

const Statement kMarkTokenDeleted{
    "mark_token_deleted",
    "UPDATE tokens SET deleted_at = " TS(2) " WHERE token_id = $1::uuid AND deleted_at IS NULL"};

const Statement kListTokens{
    "list_tokens", "SELECT " TOKEN_COLUMNS
                   " FROM tokens WHERE $1 OR deleted_at IS NULL ORDER BY created_at, token_id"};

}  // namespace

namespace {
TokenKind token_kind_of(const std::string& s) {
  return s == "reissue" ? TokenKind::kReissue : TokenKind::kAuthorization;
}
}  // namespace

TokenRow token_from(const pqxx::row& r) {
  TokenRow t;
  t.token_id = r[0].as<std::string>();
  t.kind = token_kind_of(r[1].as<std::string>());
  t.token_hash = bytes_of(r[2]);
  t.name = r[3].as<std::string>();
  t.reason = r[4].as<std::string>();
  if (auto host = r[5].as<std::string>(); !host.empty()) t.host_id = host;
  t.max_uses = r[6].as<int>();
  t.uses = r[7].as<int>();
  t.created_at = time_of(r[8]);
  t.expires_at = time_of(r[9]);
  t.deleted_at = optional_time(r[10]);
  t.created_by = r[11].as<std::string>();
  t.allowed_names = nlohmann::json::parse(r[12].as<std::string>()).get<std::vector<std::string>>();
  return t;
}
const StatementList& tokens_statements() {
  static const StatementList all = {&kLockTokens,    &kInsertToken,      &kFindTokenForUpdate,
                                    &kFindTokenById, &kMarkTokenDeleted, &kListTokens};
  return all;
}

void PgTx::insert_token(const TokenRow& t) {
  run(w_, kInsertToken, t.token_id, to_string(t.kind), bin(t.token_hash), t.name, t.reason,
      t.host_id.value_or(""), t.max_uses, t.uses, to_unix_micros(t.created_at),
      to_unix_micros(t.expires_at), t.created_by, nlohmann::json(t.allowed_names).dump());
}

std::optional<TokenRow> PgTx::find_token_for_update(const Bytes& token_hash) {
  const auto r = run(w_, kFindTokenForUpdate, bin(token_hash));
  if (r.empty()) return std::nullopt;
  return token_from(r[0]);
}

std::vector<std::optional<TokenRow>> PgTx::lock_tokens(const std::vector<Bytes>& token_hashes) {
  ArrayLiteral hashes;
  for (const auto& h : token_hashes) hashes.add_bytes(h);
  std::vector<std::optional<TokenRow>> out;
  for (const auto& row : run(w_, kLockTokens, hashes.str())) {
    if (row[0].is_null()) {
      out.emplace_back();
    } else {
      out.emplace_back(token_from(row));
    }
  }
  if (out.size() != token_hashes.size()) throw internal_error("lock_tokens: rows lost");
  return out;
}

std::optional<TokenRow> PgTx::find_token_by_id(const std::string& token_id) {
  const auto r = run(w_, kFindTokenById, token_id);
  if (r.empty()) return std::nullopt;
  return token_from(r[0]);
}

void PgTx::count_token_use(const std::string& token_id) {
  hold(nlohmann::json{{"op", "token_use"}, {"token_id", token_id}}.dump());
}

void PgTx::mark_token_deleted(const std::string& token_id, TimePoint at) {
  run(w_, kMarkTokenDeleted, token_id, to_unix_micros(at));
}

std::vector<TokenRow> PgTx::list_tokens(bool include_deleted) {
  std::vector<TokenRow> out;
  for (const auto& row : run(w_, kListTokens, include_deleted)) out.push_back(token_from(row));
  return out;
}

}  // namespace hostca::store
