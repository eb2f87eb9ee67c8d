// Reading the admin credential from gRPC metadata (ring 1).
#include <gtest/gtest.h>

#include "service/admin_credential.h"

namespace hostca::service {
namespace {

TEST(AdminCredential, TakesTheKeyOfABearerHeaderInAnyCaseOfTheScheme) {
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR "}) {
    const AdminCredential c = admin_credential(std::string(scheme) + "hca_admin_abc");
    EXPECT_EQ(c.key, "hca_admin_abc") << scheme;
    EXPECT_TRUE(c.problem.empty()) << scheme;
  }
}

TEST(AdminCredential, SaysWhyNoKeyCouldBeRead) {
  EXPECT_NE(admin_credential("").problem.find("authorization: Bearer"), std::string::npos);
  for (const char* header : {"Basic abc", "Bearer", "Bearerhca_admin_abc", "hca_admin_abc"}) {
    const AdminCredential c = admin_credential(header);
    EXPECT_TRUE(c.key.empty()) << header;
    EXPECT_NE(c.problem.find("must read 'Bearer <admin key>'"), std::string::npos) << header;
  }
}

}  // namespace
}  // namespace hostca::service
