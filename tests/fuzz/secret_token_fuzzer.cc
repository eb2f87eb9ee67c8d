// Bearer secrets: the input as an authorization token, a reissue token and
// an admin key, and as the value of the admin calls' authorization metadata.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "domain/secret_token.h"
#include "fuzz_support.h"
#include "service/admin_credential.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hostca;
  const std::string text = fuzz::as_string(data, size);
  for (SecretKind kind :
       {SecretKind::kAuthorizationToken, SecretKind::kReissueToken, SecretKind::kAdminKey}) {
    fuzz::expect_only_errors("SecretToken::parse", [&] {
      const SecretToken token = SecretToken::parse(text, kind);
      const std::string prefix = secret_prefix(kind);
      fuzz::require(token.kind() == kind, "a parsed token has the kind asked for");
      fuzz::require(token.reveal() == text, "a parsed token keeps its value");
      fuzz::require(
          text.size() == prefix.size() + 43 && text.compare(0, prefix.size(), prefix) == 0,
          "a parsed token is its prefix and 43 base64url characters");
    });
  }
  // The header as sent, and behind the scheme name the server expects.
  fuzz::expect_only_errors("Authority::authenticate_admin", [&] {
    fuzz::authority().authenticate_admin(hostca::service::admin_credential(text),
                                         "ipv4:127.0.0.1:1", "Fuzz");
  });
  fuzz::expect_only_errors("Authority::authenticate_admin", [&] {
    fuzz::authority().authenticate_admin(hostca::service::admin_credential("Bearer " + text),
                                         "ipv4:127.0.0.1:1", "Fuzz");
  });
  return 0;
}
