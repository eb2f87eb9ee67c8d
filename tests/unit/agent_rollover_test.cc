// How the agent follows a planned CA key rollover (ring 1, no network): what
// it pins from a server's announcement (only through a link signed by a key
// it pins), what it refuses and logs while keeping its pins, when the
// server's active key becomes the current one, when an old key is let go,
// and when `renew --if-due` renews at once.
#include <gtest/gtest.h>

#include <optional>

#include "agent/ca_announcement.h"
#include "agent/pin_set.h"
#include "agent/pinned_ca.h"
#include "agent/renewal.h"
#include "agent_rollover_fixture.h"

namespace hostca::agent {
namespace {

using hostca::testing::der_of;
using hostca::testing::host_certificate_of;
using hostca::testing::kRolloverNow;
using hostca::testing::new_ca;
using hostca::testing::next_ca;
using hostca::testing::pins_of;
using Certificates = std::optional<std::vector<Botan::X509_Certificate>>;

std::string spki(const Botan::X509_Certificate& cert) { return spki_fingerprint(cert); }

AnnouncedKey key(unsigned generation, const std::string& state,
                 const Botan::X509_Certificate& certificate,
                 std::optional<Botan::X509_Certificate> new_with_old = std::nullopt) {
  return AnnouncedKey{generation, state, certificate, spki(certificate), std::move(new_with_old)};
}

CaAnnouncement announcement(const Botan::X509_Certificate& active, std::vector<AnnouncedKey> keys) {
  CaAnnouncement out;
  out.active = {active, der_of(active), certificate_fingerprint(active), spki(active)};
  out.keys = std::move(keys);
  return out;
}

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines) {
    if (l.find(what) != std::string::npos) return true;
  }
  return false;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

const Certificates kNoCertificate = std::vector<Botan::X509_Certificate>{};

class AgentRollover : public ::testing::Test {
 protected:
  std::shared_ptr<SoftwareSigner> a_ = new_ca();
  testing::NextCa b_ = next_ca(*a_);
  const Botan::X509_Certificate& a() const { return a_->ca_certificate(); }
  // The server after `rollover start`: A issues, B is announced with its link.
  CaAnnouncement propagating() const {
    return announcement(a(), {key(1, "active", a()), key(2, "next", b_.ca(), b_.new_with_old())});
  }
  // The server after `rollover activate`: B issues, A is retiring.
  CaAnnouncement activated() const {
    return announcement(b_.ca(),
                        {key(1, "retiring", a()), key(2, "active", b_.ca(), b_.new_with_old())});
  }
  // The server after `rollover finish`: B alone.
  CaAnnouncement finished() const {
    return announcement(b_.ca(), {key(2, "active", b_.ca(), b_.new_with_old())});
  }
};

TEST_F(AgentRollover, PinsTheNextKeyWhoseLinkIsSignedByThePinnedKey) {
  const PinSet pins = pins_of(a());
  const PinUpdate u = follow_announcement(pins, propagating(), kNoCertificate, kRolloverNow);
  EXPECT_TRUE(u.active_pinned);
  EXPECT_TRUE(u.changed);
  ASSERT_EQ(u.pins.keys().size(), 2u);
  EXPECT_EQ(u.pins.current().spki_sha256, spki(a()));
  EXPECT_EQ(u.pins.keys()[1].spki_sha256, spki(b_.ca()));
  EXPECT_EQ(u.pins.keys()[1].role, PinRole::kNext);
  // One line saying which key was pinned and which pinned key vouched for it.
  ASSERT_EQ(u.events.size(), 1u) << joined(u.events);
  EXPECT_TRUE(mentions(u.events, spki(b_.ca())));
  EXPECT_TRUE(mentions(u.events, spki(a())));
  EXPECT_TRUE(u.refusals.empty()) << joined(u.refusals);

  // The next contact changes nothing more.
  const PinUpdate again = follow_announcement(u.pins, propagating(), kNoCertificate, kRolloverNow);
  EXPECT_FALSE(again.changed);
  EXPECT_TRUE(again.events.empty()) << joined(again.events);
}

TEST_F(AgentRollover, AKeyAnnouncedWithoutALinkIsRefusedLoggedAndThePinsStay) {
  const auto rogue = new_ca();
  const PinSet pins = pins_of(a());
  const PinUpdate u = follow_announcement(
      pins, announcement(a(), {key(1, "active", a()), key(2, "next", rogue->ca_certificate())}),
      kNoCertificate, kRolloverNow);
  EXPECT_TRUE(u.active_pinned);  // not a failure: the server's active key is pinned
  EXPECT_FALSE(u.changed);
  EXPECT_TRUE(u.pins.same_keys_as(pins));
  ASSERT_EQ(u.refusals.size(), 1u) << joined(u.refusals);
  EXPECT_TRUE(mentions(u.refusals, spki(rogue->ca_certificate())));
  EXPECT_TRUE(mentions(u.refusals, "without a link"));
  EXPECT_TRUE(u.events.empty()) << joined(u.events);
}

TEST_F(AgentRollover, ALinkSignedByAKeyThisHostDoesNotPinIsRefused) {
  // R has A's subject name but is not pinned; X's link is signed by R.
  const auto r = next_ca(*a_);
  const auto x = next_ca(*r.signer);
  const PinSet pins = pins_of(a());
  const PinUpdate u = follow_announcement(
      pins, announcement(a(), {key(1, "active", a()), key(3, "next", x.ca(), x.new_with_old())}),
      kNoCertificate, kRolloverNow);
  EXPECT_FALSE(u.changed);
  EXPECT_FALSE(u.pins.pins(spki(x.ca())));
  EXPECT_TRUE(mentions(u.refusals, "not signed by a CA key this host pins")) << joined(u.refusals);
}

TEST_F(AgentRollover, ALinkThatCertifiesAnotherKeyIsRefused) {
  const auto c = next_ca(*a_);  // also linked from A, but announced under B's certificate
  const PinUpdate u = follow_announcement(
      pins_of(a()),
      announcement(a(), {key(1, "active", a()), key(2, "next", b_.ca(), c.new_with_old())}),
      kNoCertificate, kRolloverNow);
  EXPECT_FALSE(u.changed);
  EXPECT_TRUE(mentions(u.refusals, "certifies key " + spki(c.ca()))) << joined(u.refusals);
}

TEST_F(AgentRollover, AnExpiredLinkIsRefused) {
  // The link ends with A's certificate; a day later it vouches for nothing.
  const auto after_link = b_.new_with_old().not_after().to_std_timepoint() + std::chrono::hours(24);
  const PinUpdate u = follow_announcement(pins_of(a()), propagating(), kNoCertificate, after_link);
  EXPECT_FALSE(u.pins.pins(spki(b_.ca())));
  EXPECT_TRUE(mentions(u.refusals, "outside its validity")) << joined(u.refusals);
}

TEST_F(AgentRollover, ANextKeyEqualToTheCurrentOneChangesNothing) {
  const PinUpdate u = follow_announcement(
      pins_of(a()),
      announcement(a(), {key(1, "active", a()), key(2, "next", a(), b_.new_with_old())}),
      kNoCertificate, kRolloverNow);
  EXPECT_FALSE(u.changed);
  EXPECT_TRUE(u.events.empty()) << joined(u.events);
  EXPECT_TRUE(u.refusals.empty()) << joined(u.refusals);
}

TEST_F(AgentRollover, OnActivateTheNextKeyBecomesCurrentAndTheFormerCurrentPrevious) {
  const PinSet pins = pins_of(a(), {{PinRole::kNext, b_.ca()}});
  const auto from_a = host_certificate_of(a_);
  const PinUpdate u = follow_announcement(
      pins, activated(), std::vector<Botan::X509_Certificate>{from_a.certificate}, kRolloverNow);
  EXPECT_TRUE(u.active_pinned);
  EXPECT_TRUE(u.changed);
  EXPECT_EQ(u.pins.current().spki_sha256, spki(b_.ca()));
  ASSERT_NE(u.pins.find(spki(a())), nullptr);
  EXPECT_EQ(u.pins.find(spki(a()))->role, PinRole::kPrevious);
  EXPECT_TRUE(mentions(u.events, spki(b_.ca()) + " is now the current key")) << joined(u.events);
  // The retiring key is announced and not pinned by a newer host: no concern.
  const PinUpdate newer =
      follow_announcement(pins_of(b_.ca()), activated(), kNoCertificate, kRolloverNow);
  EXPECT_FALSE(newer.changed);
  EXPECT_TRUE(newer.refusals.empty()) << joined(newer.refusals);
}

TEST_F(AgentRollover, AHostThatMissedPropagationPinsTheActiveKeyThroughItsLink) {
  const PinUpdate u = follow_announcement(pins_of(a()), activated(), kNoCertificate, kRolloverNow);
  EXPECT_TRUE(u.active_pinned);
  EXPECT_EQ(u.pins.current().spki_sha256, spki(b_.ca()));
  EXPECT_EQ(u.pins.find(spki(a()))->role, PinRole::kPrevious);
}

TEST_F(AgentRollover, AnActiveKeyThatCannotBeLinkedIsACertificateFailureAndPinsNothing) {
  const auto c = new_ca();  // a third CA: another database at the same address
  const PinSet pins = pins_of(a());
  const PinUpdate u = follow_announcement(
      pins, announcement(c->ca_certificate(), {key(1, "active", c->ca_certificate())}),
      kNoCertificate, kRolloverNow);
  EXPECT_FALSE(u.active_pinned);
  EXPECT_FALSE(u.changed);
  EXPECT_TRUE(u.pins.same_keys_as(pins));
  EXPECT_NE(u.active_refusal.find("without a link"), std::string::npos) << u.active_refusal;
  // A server that announces no keys at all (from before rollovers): the same.
  const PinUpdate bare = follow_announcement(pins, announcement(c->ca_certificate(), {}),
                                             kNoCertificate, kRolloverNow);
  EXPECT_FALSE(bare.active_pinned);
  EXPECT_FALSE(bare.active_refusal.empty());
  // Its link signed by a key this host does not pin: the same.
  const auto r = next_ca(*a_);
  const auto x = next_ca(*r.signer);
  const PinUpdate forged =
      follow_announcement(pins, announcement(x.ca(), {key(3, "active", x.ca(), x.new_with_old())}),
                          kNoCertificate, kRolloverNow);
  EXPECT_FALSE(forged.active_pinned);
  EXPECT_TRUE(forged.pins.same_keys_as(pins));
  EXPECT_NE(forged.active_refusal.find("not signed by a CA key this host pins"), std::string::npos)
      << forged.active_refusal;
}

TEST_F(AgentRollover, APreviousKeyIsLetGoOnceNotAnnouncedAndNoCertificateOfThisHostIsFromIt) {
  const PinSet pins = pins_of(b_.ca(), {{PinRole::kPrevious, a()}});
  const auto from_a = host_certificate_of(a_);
  const auto from_b = host_certificate_of(b_.signer);
  const std::vector<Botan::X509_Certificate> holds_b{from_b.certificate};

  // Still announced (retiring): kept.
  EXPECT_FALSE(follow_announcement(pins, activated(), holds_b, kRolloverNow).changed);
  // No longer announced, but this host's certificate is from it: kept.
  EXPECT_FALSE(follow_announcement(pins, finished(),
                                   std::vector<Botan::X509_Certificate>{from_a.certificate},
                                   kRolloverNow)
                   .changed);
  // This host's certificate cannot be read: kept.
  EXPECT_FALSE(follow_announcement(pins, finished(), std::nullopt, kRolloverNow).changed);
  // A server that announces no keys says nothing about them: kept.
  EXPECT_FALSE(follow_announcement(pins, announcement(b_.ca(), {}), holds_b, kRolloverNow).changed);

  // Not announced, and this host holds only B's certificate: let go.
  const PinUpdate u = follow_announcement(pins, finished(), holds_b, kRolloverNow);
  EXPECT_TRUE(u.changed);
  ASSERT_EQ(u.pins.keys().size(), 1u);
  EXPECT_EQ(u.pins.current().spki_sha256, spki(b_.ca()));
  EXPECT_TRUE(mentions(u.events, "unpinned CA key " + spki(a()))) << joined(u.events);
}

TEST(AgentAnnouncement, ParsesTheKeysByGenerationAndListsThoseThatDoNotParse) {
  const auto a = new_ca();
  const auto b = next_ca(*a);
  hostca::v1::GetCACertificateResponse res;
  res.set_certificate_der(der_of(a->ca_certificate()));
  auto* next = res.add_ca_keys();
  next->set_generation(2);
  next->set_state("next");
  next->set_certificate_der(der_of(b.ca()));
  next->set_new_with_old_der(der_of(b.new_with_old()));
  auto* active = res.add_ca_keys();
  active->set_generation(1);
  active->set_state("active");
  active->set_certificate_der(der_of(a->ca_certificate()));
  auto* broken = res.add_ca_keys();
  broken->set_generation(3);
  broken->set_state("next");
  broken->set_certificate_der("not a certificate");

  const CaAnnouncement parsed = parse_announcement(res, "ca.example:8443");
  EXPECT_EQ(parsed.active.spki_sha256, spki(a->ca_certificate()));
  ASSERT_EQ(parsed.keys.size(), 2u);
  EXPECT_EQ(parsed.keys[0].generation, 1u);
  EXPECT_FALSE(parsed.keys[0].new_with_old.has_value());
  EXPECT_EQ(parsed.keys[1].spki_sha256, spki(b.ca()));
  ASSERT_TRUE(parsed.keys[1].new_with_old.has_value());
  ASSERT_EQ(parsed.unreadable.size(), 1u);

  // What the server says about fingerprints is never taken: they are computed.
  next->set_spki_sha256(spki(a->ca_certificate()));
  EXPECT_EQ(parse_announcement(res, "ca.example:8443").keys[1].spki_sha256, spki(b.ca()));

  res.set_certificate_der("garbage");
  EXPECT_THROW(parse_announcement(res, "ca.example:8443"), CertificateFailure);
}

TEST(AgentRenewAtOnce, ACertificateNotFromTheActiveKeyRenewsAtOnceWhateverItsSchedule) {
  const auto a = new_ca();
  const auto b = next_ca(*a);
  const auto from_a = host_certificate_of(a);
  const auto schedule = schedule_of(from_a.certificate, 0.5);
  const TimePoint fresh = schedule.not_before + std::chrono::seconds(1);
  EXPECT_EQ(renewal_reason(schedule, from_a.certificate, a->ca_certificate(), fresh),
            RenewalReason::kNotDue);
  EXPECT_EQ(renewal_reason(schedule, from_a.certificate, a->ca_certificate(),
                           schedule.due() - std::chrono::seconds(1)),
            RenewalReason::kNotDue);
  EXPECT_EQ(renewal_reason(schedule, from_a.certificate, a->ca_certificate(), schedule.due()),
            RenewalReason::kDue);
  // After activate the server issues with B: A's certificate renews now.
  EXPECT_EQ(renewal_reason(schedule, from_a.certificate, b.ca(), fresh),
            RenewalReason::kIssuerRetiring);
  // B's certificate then follows its schedule again.
  const auto from_b = host_certificate_of(b.signer);
  const auto b_schedule = schedule_of(from_b.certificate, 0.5);
  EXPECT_EQ(renewal_reason(b_schedule, from_b.certificate, b.ca(),
                           b_schedule.not_before + std::chrono::seconds(1)),
            RenewalReason::kNotDue);
}

}  // namespace
}  // namespace hostca::agent
