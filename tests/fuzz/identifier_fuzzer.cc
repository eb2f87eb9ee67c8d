// Identifiers an admin or a host names things by: host and token IDs
// (UUIDs), certificate serials (hex, with or without ':') and revocation
// reasons (RFC 5280 names or numbers), each parsed as the services parse them.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/bytes.h"
#include "common/uuid.h"
#include "fuzz_support.h"
#include "pki/revocation_reason.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hostca;
  const std::string text = fuzz::as_string(data, size);

  fuzz::expect_only_errors("parse_uuid", [&] {
    const std::string id = parse_uuid(text, "host ID");
    fuzz::require(is_uuid(text) && is_uuid(id), "parse_uuid accepts only UUIDs");
    fuzz::require(parse_uuid(id, "host ID") == id, "a parsed UUID parses to itself");
  });

  fuzz::expect_only_errors("from_hex", [&] {
    const Bytes bytes = from_hex(text, "serial");
    fuzz::require(from_hex(to_hex(bytes), "serial") == bytes, "hex round-trips");
  });

  fuzz::expect_only_errors("parse_revocation_reason", [&] {
    const RevocationReason reason = parse_revocation_reason(text);
    fuzz::require(parse_revocation_reason(to_string(reason)) == reason,
                  "a reason parses back from its name");
  });
  if (size >= sizeof(std::int32_t)) {
    std::int32_t code = 0;
    std::memcpy(&code, data, sizeof code);
    fuzz::expect_only_errors("revocation_reason_from_code",
                             [&] { revocation_reason_from_code(code); });
  }

  // Serials and host IDs as a revocation names them (canonical serial form,
  // exactly one target), up to the point where the database is asked.
  fuzz::expect_only_errors("Authority::revoke(serial)", [&] {
    RevocationRequest request;
    request.serial_hex = text;
    fuzz::authority().revoke(fuzz::fuzz_admin(), request);
  });
  fuzz::expect_only_errors("Authority::revoke(host)", [&] {
    RevocationRequest request;
    request.host_id = text;
    request.reason_code = 4;
    fuzz::authority().revoke(fuzz::fuzz_admin(), request);
  });
  return 0;
}
