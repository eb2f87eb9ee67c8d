// The RFC 5280 reason codes an admin may give, by name or number, and the
// ones hostca refuses because its revocations are final or the code means
// nothing for a host certificate.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "../support/expect_error.h"
#include "pki/revocation_reason.h"

namespace hostca {
namespace {

const std::vector<std::pair<std::string, RevocationReason>> kAccepted = {
    {"unspecified", RevocationReason::kUnspecified},
    {"keyCompromise", RevocationReason::kKeyCompromise},
    {"cACompromise", RevocationReason::kCaCompromise},
    {"affiliationChanged", RevocationReason::kAffiliationChanged},
    {"superseded", RevocationReason::kSuperseded},
    {"cessationOfOperation", RevocationReason::kCessationOfOperation},
    {"privilegeWithdrawn", RevocationReason::kPrivilegeWithdrawn},
};

TEST(RevocationReason, CodesAreThoseOfRfc5280) {
  EXPECT_EQ(static_cast<int>(RevocationReason::kUnspecified), 0);
  EXPECT_EQ(static_cast<int>(RevocationReason::kKeyCompromise), 1);
  EXPECT_EQ(static_cast<int>(RevocationReason::kCaCompromise), 2);
  EXPECT_EQ(static_cast<int>(RevocationReason::kAffiliationChanged), 3);
  EXPECT_EQ(static_cast<int>(RevocationReason::kSuperseded), 4);
  EXPECT_EQ(static_cast<int>(RevocationReason::kCessationOfOperation), 5);
  EXPECT_EQ(static_cast<int>(RevocationReason::kPrivilegeWithdrawn), 9);
}

TEST(RevocationReason, AcceptsEveryRfc5280NameAndNumberItAllows) {
  for (const auto& [name, reason] : kAccepted) {
    const int code = static_cast<int>(reason);
    EXPECT_EQ(parse_revocation_reason(name), reason) << name;
    EXPECT_EQ(parse_revocation_reason(std::to_string(code)), reason) << code;
    EXPECT_EQ(revocation_reason_from_code(code), reason) << code;
    EXPECT_EQ(to_string(reason), name);
  }
}

TEST(RevocationReason, RefusesHoldRemoveFromCrlAndUnassignedCodesListingAcceptedNames) {
  // 6 certificateHold and 8 removeFromCRL would undo a revocation; 7 is
  // unassigned; 10 aACompromise is about attribute certificates; 11 does not exist.
  for (const int code : {6, 7, 8, 10, 11, -1, 99}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(revocation_reason_from_code(code), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find(std::to_string(code)), std::string::npos) << msg;
    if (code >= 0) {
      HOSTCA_EXPECT_ERROR(parse_revocation_reason(std::to_string(code)),
                          ErrorKind::kInvalidArgument);
    }
  }
  for (const std::string text : {"hold", "certificateHold", "removeFromCRL", "aACompromise", "",
                                 "-1", "4 ", "superseded ", "123", "0x4"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(parse_revocation_reason(text), ErrorKind::kInvalidArgument);
    for (const auto& [name, reason] : kAccepted) {
      EXPECT_NE(msg.find(name + " (" + std::to_string(static_cast<int>(reason)) + ")"),
                std::string::npos)
          << "'" << text << "': " << msg;
    }
    // The refused names are not offered as accepted ones.
    if (text != "certificateHold" && text != "removeFromCRL") {
      EXPECT_EQ(msg.find("certificateHold"), std::string::npos) << msg;
      EXPECT_EQ(msg.find("removeFromCRL"), std::string::npos) << msg;
    }
  }
}

TEST(RevocationReason, MessageForUnknownTextIsShortEvenForLongInput) {
  const std::string long_text(5000, 'x');
  const std::string msg =
      HOSTCA_EXPECT_ERROR(parse_revocation_reason(long_text), ErrorKind::kInvalidArgument);
  EXPECT_LT(msg.size(), 400u) << msg;
}

}  // namespace
}  // namespace hostca
