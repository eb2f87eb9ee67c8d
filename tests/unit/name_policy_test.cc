// The name policy as data: localhost names are never a host's, the CA's
// allowed suffixes, and an authorization token's own patterns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "domain/name_policy.h"

namespace hostca {
namespace {

HostName name(const std::string& text) { return HostName::parse(text); }

TEST(NamePolicy, RefusesLocalhostAndEveryNameUnderIt) {
  const NamePolicy any;
  for (const char* bad : {"localhost", "LOCALHOST.", "db.localhost", "a.b.localhost"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(any.check(name(bad), "alias"), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("localhost name"), std::string::npos) << bad << ": " << msg;
    EXPECT_EQ(msg.rfind("alias", 0), 0u) << msg;
  }
  // A name that merely contains the word is an ordinary name.
  EXPECT_NO_THROW(any.check(name("localhost.example.com"), "host name"));
  EXPECT_NO_THROW(any.check(name("mylocalhost"), "host name"));
}

TEST(NamePolicy, EmptySuffixListAllowsAnyOrdinaryName) {
  const NamePolicy any;
  EXPECT_NO_THROW(any.check(name("web01.example.com"), "host name"));
  EXPECT_NO_THROW(any.check(name("db"), "host name"));
}

TEST(NamePolicy, SuffixAllowsItselfAndNamesUnderItButNotLookAlikes) {
  const NamePolicy policy{{"example.com", "corp.example"}};
  policy.validate();
  EXPECT_NO_THROW(policy.check(name("example.com"), "host name"));
  EXPECT_NO_THROW(policy.check(name("web01.example.com"), "host name"));
  EXPECT_NO_THROW(policy.check(name("a.b.corp.example"), "alias"));
  for (const char* bad : {"badexample.com", "example.com.evil.net", "example.org", "corp"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(policy.check(name(bad), "host name"), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("names.allowed_suffixes: example.com, corp.example"), std::string::npos)
        << bad << ": " << msg;
  }
}

TEST(NamePolicy, RefusesSuffixesThatAreNotPlainLowerCaseNames) {
  for (const char* bad :
       {"*.example.com", "Example.com", "example.com.", "localhost", "10.0.0.1"}) {
    const NamePolicy policy{{bad}};
    const std::string msg = HOSTCA_EXPECT_ERROR(policy.validate(), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("names.allowed_suffixes"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(NamePattern, ExactNameMatchesOnlyItself) {
  const NamePattern p = NamePattern::parse("DB01.example.com");
  EXPECT_EQ(p.str(), "db01.example.com");
  EXPECT_TRUE(p.matches(name("db01.example.com.")));
  EXPECT_FALSE(p.matches(name("db02.example.com")));
  EXPECT_FALSE(p.matches(name("x.db01.example.com")));
}

TEST(NamePattern, WildcardMatchesNamesUnderItsBaseAtAnyDepthButNotTheBase) {
  const NamePattern p = NamePattern::parse("*.lab.example.com");
  EXPECT_EQ(p.str(), "*.lab.example.com");
  EXPECT_TRUE(p.matches(name("a.lab.example.com")));
  EXPECT_TRUE(p.matches(name("a.b.lab.example.com")));
  EXPECT_FALSE(p.matches(name("lab.example.com")));
  EXPECT_FALSE(p.matches(name("xlab.example.com")));
  EXPECT_FALSE(p.matches(name("a.lab.example.com.evil")));
}

TEST(NamePattern, RefusesAStarAnywhereButAsTheWholeFirstLabel) {
  for (const char* bad : {"a*.example.com", "a.*.example.com", "*", "**.example.com"}) {
    HOSTCA_EXPECT_ERROR(NamePattern::parse(bad), ErrorKind::kInvalidArgument);
  }
}

TEST(NamePolicy, TokenPatternsNarrowTheCaPolicy) {
  const NamePolicy policy{{"example.com"}};
  const auto patterns = policy.parse_patterns({"*.lab.example.com", "db01.example.com"});
  EXPECT_NO_THROW(policy.check(name("x.lab.example.com"), "host name", patterns));
  EXPECT_NO_THROW(policy.check(name("db01.example.com"), "alias", patterns));
  const std::string msg = HOSTCA_EXPECT_ERROR(
      policy.check(name("web01.example.com"), "alias", patterns), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("this authorization token allows (*.lab.example.com, db01.example.com)"),
            std::string::npos)
      << msg;
  // The CA's policy still applies on top of a token's.
  HOSTCA_EXPECT_ERROR(policy.check(name("x.lab.example.org"), "host name", patterns),
                      ErrorKind::kInvalidArgument);
}

TEST(NamePolicy, RefusesTokenPatternsOutsideTheCaPolicyOrRepeatedOrTooMany) {
  const NamePolicy policy{{"lab.example.com"}};
  // A wildcard above a suffix can still match names under it.
  EXPECT_NO_THROW(policy.parse_patterns({"*.example.com", "db.lab.example.com"}));
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"db.example.org"},
                                             {"*.example.org"},
                                             {"localhost"},
                                             {"*.localhost"},
                                             {"a.lab.example.com", "A.lab.example.com."},
                                             {"bad_name"}}) {
    HOSTCA_EXPECT_ERROR(policy.parse_patterns(bad), ErrorKind::kInvalidArgument);
  }
  HOSTCA_EXPECT_ERROR(NamePolicy{}.parse_patterns(std::vector<std::string>(65, "x.example")),
                      ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
