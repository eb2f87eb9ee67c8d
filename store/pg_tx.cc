#include "store/pg_tx.h"

#include "store/pg_sql.h"

namespace hostca::store {

static_assert(std::is_base_of_v<Tx, PgTx>);

void PgTx::prepare(pqxx::connection& conn) {
  for (const auto* list :
       {&ca_statements(), &tokens_statements(), &hosts_statements(), &certificates_statements(),
        &crls_statements(), &audit_statements(), &enrolment_statements()}) {
    for (const Statement* s : *list) conn.prepare(s->name, s->sql);
  }
}

}  // namespace hostca::store
