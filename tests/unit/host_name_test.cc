#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../support/expect_error.h"
#include "domain/host_name.h"

namespace hostca {
namespace {

TEST(HostName, AcceptsDnsNamesAndLowercasesThem) {
  EXPECT_EQ(HostName::parse("Backup-01.Example.COM").str(), "backup-01.example.com");
  EXPECT_EQ(HostName::parse("localhost").str(), "localhost");
  EXPECT_EQ(HostName::parse("a").str(), "a");
  // Digits are fine anywhere but in the last label (see RefusesIpLiterals).
  EXPECT_EQ(HostName::parse("0.1.2.3.example").str(), "0.1.2.3.example");
  EXPECT_EQ(HostName::parse("10.example").str(), "10.example");
  EXPECT_EQ(HostName::parse("xn--bcher-kva.example").str(), "xn--bcher-kva.example");
}

TEST(HostName, AcceptsTheLongestLegalNameAndLabel) {
  const std::string label63(63, 'a');
  EXPECT_EQ(HostName::parse(label63 + ".example").str(), label63 + ".example");
  // 4 labels of 63 plus 3 dots = 255 is too long; 63+1+63+1+63+1+61 = 253 is the limit.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(HostName::parse(name253).str(), name253);
}

TEST(HostName, RefusesAnEmptyName) {
  const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(""), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
}

TEST(HostName, RefusesMoreThan253Characters) {
  const std::string label63(63, 'a');
  const std::string name254 = label63 + "." + label63 + "." + label63 + "." + std::string(62, 'b');
  ASSERT_EQ(name254.size(), 254u);
  const std::string msg =
      HOSTCA_EXPECT_ERROR(HostName::parse(name254), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("253"), std::string::npos) << msg;
}

TEST(HostName, RefusesALabelLongerThan63) {
  const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(std::string(64, 'a') + ".example"),
                                              ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("63"), std::string::npos) << msg;
}

TEST(HostName, RefusesCharactersOutsideLettersDigitsAndHyphen) {
  for (const std::string& bad :
       std::vector<std::string>{"host_1.example", "host 1", "héte.example", "host.example/x",
                                std::string("ho\0st", 5), "user@host", "10.0.0.1/24"}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("letters, digits"), std::string::npos) << msg;
  }
}

TEST(HostName, RefusesALabelThatStartsOrEndsWithAHyphen) {
  for (const char* bad : {"-host.example", "host-.example", "host.-example", "host.example-"}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("'-'"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(HostName, RefusesEmptyLabels) {
  for (const char* bad : {"host..example", ".host.example", "host.example..", ".", ".."}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("empty label"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(HostName, DropsOneTrailingDotSoBothSpellingsAreOneName) {
  EXPECT_EQ(HostName::parse("Victim.Example.COM.").str(), "victim.example.com");
  EXPECT_EQ(HostName::parse("victim.example.com."), HostName::parse("VICTIM.example.com"));
  EXPECT_EQ(HostName::parse("a.").str(), "a");
}

TEST(HostName, RefusesIpLiteralsWrittenAsNames) {
  for (const char* bad :
       {"127.0.0.1", "10.0.0.5", "10.0.0.5.", "127.1", "2130706433", "192.168.000.001", "::1",
        "[::1]", "fe80::1%eth0", "2001:db8::1", "::ffff:10.0.0.5", "host:443"}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("IP address"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(HostName, RefusesWildcards) {
  for (const char* bad : {"*.example.com", "*", "host*.example", "a.*.example", "*.example.com."}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(HostName::parse(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("wildcard"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(HostName, MessageNamesWhatWasChecked) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(HostName::parse("bad_name", "alias"), ErrorKind::kInvalidArgument);
  EXPECT_EQ(msg.rfind("alias", 0), 0u) << msg;
  EXPECT_NE(msg.find("bad_name"), std::string::npos) << msg;
}

TEST(HostName, MessageShowsControlCharactersAsQuestionMarks) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(HostName::parse("bad\x1b[31mname"), ErrorKind::kInvalidArgument);
  EXPECT_EQ(msg.find('\x1b'), std::string::npos) << msg;
}

TEST(ParseAliases, AcceptsDistinctNamesLowercasedInOrder) {
  const HostName host = HostName::parse("host.example");
  const auto aliases = parse_aliases({"B.example", "a.example", "host"}, host);
  ASSERT_EQ(aliases.size(), 3u);
  EXPECT_EQ(aliases[0].str(), "b.example");
  EXPECT_EQ(aliases[1].str(), "a.example");
  EXPECT_EQ(aliases[2].str(), "host");
  EXPECT_TRUE(parse_aliases({}, host).empty());
}

TEST(ParseAliases, RefusesABadAliasNamingItAnAlias) {
  const HostName host = HostName::parse("host.example");
  const std::string msg = HOSTCA_EXPECT_ERROR(parse_aliases({"ok.example", "not ok"}, host),
                                              ErrorKind::kInvalidArgument);
  EXPECT_EQ(msg.rfind("alias", 0), 0u) << msg;
}

TEST(ParseAliases, RefusesDuplicatesIgnoringCase) {
  const HostName host = HostName::parse("host.example");
  const std::string msg = HOSTCA_EXPECT_ERROR(parse_aliases({"a.example", "A.Example"}, host),
                                              ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
}

TEST(ParseAliases, RefusesAnAliasEqualToTheHostName) {
  const HostName host = HostName::parse("host.example");
  const std::string msg =
      HOSTCA_EXPECT_ERROR(parse_aliases({"HOST.example"}, host), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("repeats the host name"), std::string::npos) << msg;
}

TEST(ParseAliases, AcceptsExactlyTheMaximumAndRefusesOneMore) {
  const HostName host = HostName::parse("host.example");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kMaxAliases; ++i) names.push_back("a" + std::to_string(i));
  EXPECT_EQ(parse_aliases(names, host).size(), kMaxAliases);
  names.push_back("one-more");
  const std::string msg =
      HOSTCA_EXPECT_ERROR(parse_aliases(names, host), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("too many aliases"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(kMaxAliases)), std::string::npos) << msg;
}

}  // namespace
}  // namespace hostca
