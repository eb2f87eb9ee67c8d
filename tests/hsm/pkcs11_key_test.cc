// The CA key in a PKCS#11 token, against SoftHSM2 from Debian (softhsm2):
// each test binary gets a token of its own in a temporary folder
// (SOFTHSM2_CONF), makes keys in it and signs; the signatures are checked
// with Botan against the public key the token gives. No database.
#include <gtest/gtest.h>

#include <botan/pubkey.h>
#include <botan/x509_key.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "pki/pkcs11_key.h"

namespace hostca {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";
constexpr const char* kToken = "hostca-test";
constexpr const char* kPin = "1234-test-pin";

class Pkcs11KeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(kModule))
        << kModule << " is missing: install the Debian package softhsm2";
    folder_ =
        new fs::path(fs::temp_directory_path() / ("hostca-hsm-" + std::to_string(::getpid())));
    fs::create_directories(*folder_ / "tokens");
    std::ofstream(*folder_ / "softhsm2.conf")
        << "directories.tokendir = " << (*folder_ / "tokens").string() << "\n"
        << "objectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (*folder_ / "softhsm2.conf").c_str(), 1);
    const std::string init = std::string("softhsm2-util --init-token --free --label ") + kToken +
                             " --pin " + kPin + " --so-pin 87654321 >/dev/null";
    ASSERT_EQ(std::system(init.c_str()), 0) << init;
  }
  static void TearDownTestSuite() {
    if (folder_) fs::remove_all(*folder_);
    delete folder_;
    folder_ = nullptr;
  }

  static Pkcs11KeyOptions options(const std::string& key_label) {
    Pkcs11KeyOptions o;
    o.module_path = kModule;
    o.token_label = kToken;
    o.key_label = key_label;
    o.pin = kPin;
    o.max_sessions = 4;
    return o;
  }

  static bool verifies(const Pkcs11Key& key, const std::vector<std::uint8_t>& data,
                       const std::vector<std::uint8_t>& signature) {
    std::unique_ptr<Botan::Public_Key> pub(Botan::X509::load_key(key.public_key_spki()));
    const bool rsa = key.algorithm() == Pkcs11KeyAlgorithm::kRsa3072;
    Botan::PK_Verifier verifier(*pub, rsa ? "EMSA3(SHA-256)" : "EMSA1(" + key.hash_name() + ")",
                                rsa ? Botan::IEEE_1363 : Botan::DER_SEQUENCE);
    return verifier.verify_message(data, signature);
  }

  static fs::path* folder_;
};

fs::path* Pkcs11KeyTest::folder_ = nullptr;

TEST_F(Pkcs11KeyTest, EachAlgorithmMakesAKeyInTheTokenWhoseSignaturesVerify) {
  const std::vector<std::uint8_t> data = {'t', 'b', 's', 0, 1, 2, 3};
  for (const auto& [algorithm, name] : std::vector<std::pair<Pkcs11KeyAlgorithm, std::string>>{
           {Pkcs11KeyAlgorithm::kEcdsaP256, "ecdsa-p256"},
           {Pkcs11KeyAlgorithm::kEcdsaP384, "ecdsa-p384"},
           {Pkcs11KeyAlgorithm::kRsa3072, "rsa-3072"}}) {
    const auto made = Pkcs11Key::generate(options("made-" + name), algorithm);
    EXPECT_EQ(made->algorithm_name(), name);
    const auto signature = made->sign(data);
    EXPECT_TRUE(verifies(*made, data, signature)) << name;
    auto other = data;
    other.back() ^= 1;
    EXPECT_FALSE(verifies(*made, other, signature)) << name;
    // Opened again by its label: the same key.
    const auto opened = Pkcs11Key::open(options("made-" + name));
    EXPECT_EQ(opened->algorithm(), algorithm);
    EXPECT_EQ(opened->public_key_spki(), made->public_key_spki());
    EXPECT_TRUE(verifies(*made, data, opened->sign(data))) << name;
  }
}

TEST_F(Pkcs11KeyTest, TheRefusalsAtStartNameWhatIsWrongAndNeverThePin) {
  Pkcs11Key::generate(options("refusals"), Pkcs11KeyAlgorithm::kEcdsaP256);
  const auto refused = [](const Pkcs11KeyOptions& o) {
    try {
      Pkcs11Key::open(o);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kFailedPrecondition) << e.what();
      return std::string(e.what());
    }
    ADD_FAILURE() << "opened";
    return std::string();
  };
  auto wrong_pin = options("refusals");
  wrong_pin.pin = "not-the-pin-0000";
  const std::string pin_message = refused(wrong_pin);
  EXPECT_NE(pin_message.find("refused the PIN"), std::string::npos) << pin_message;
  EXPECT_EQ(pin_message.find("not-the-pin-0000"), std::string::npos) << pin_message;
  EXPECT_EQ(pin_message.find(kPin), std::string::npos) << pin_message;

  auto no_module = options("refusals");
  no_module.module_path = "/nonexistent/libpkcs11.so";
  EXPECT_NE(refused(no_module).find("cannot load the PKCS#11 module /nonexistent/libpkcs11.so"),
            std::string::npos);
  auto no_token = options("refusals");
  no_token.token_label = "no-such-token";
  EXPECT_NE(refused(no_token).find("no token labelled \"no-such-token\""), std::string::npos);
  EXPECT_NE(refused(options("no-such-key")).find("no private key labelled \"no-such-key\""),
            std::string::npos);

  // A label already taken is not made twice.
  try {
    Pkcs11Key::generate(options("refusals"), Pkcs11KeyAlgorithm::kEcdsaP256);
    ADD_FAILURE() << "made a second key under one label";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already holds a key labelled"), std::string::npos);
  }
}

TEST_F(Pkcs11KeyTest, SixtyFourThreadsShareABoundedPoolOfSessions) {
  const auto key = Pkcs11Key::generate(options("shared"), Pkcs11KeyAlgorithm::kEcdsaP256);
  std::atomic<int> good{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::vector<std::uint8_t> data = {static_cast<std::uint8_t>(t),
                                                static_cast<std::uint8_t>(i)};
        (verifies(*key, data, key->sign(data)) ? good : bad)++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 64 * 5);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(key->sessions_open(), 1u);
  EXPECT_LE(key->sessions_open(), 4u);  // options(): max_sessions 4
}

TEST_F(Pkcs11KeyTest, ATokenThatGoesAwayMakesCallsUnavailableAndSigningResumesWhenItIsBack) {
  // Through the failing module: SoftHSM2 behind it, failing while the flag file exists.
  const fs::path flag = *folder_ / "token-gone";
  ::setenv("HOSTCA_TEST_PKCS11_REAL", kModule, 1);
  ::setenv("HOSTCA_TEST_PKCS11_FAIL", flag.c_str(), 1);
  Pkcs11Key::generate(options("goes-away"), Pkcs11KeyAlgorithm::kEcdsaP256);
  auto through = options("goes-away");
  through.module_path = HOSTCA_FAILING_PKCS11;
  const auto key = Pkcs11Key::open(through);
  const std::vector<std::uint8_t> data = {1, 2, 3};
  ASSERT_TRUE(verifies(*key, data, key->sign(data)));

  std::ofstream(flag) << "gone\n";
  for (int i = 0; i < 3; ++i) {  // each call fails the same way, none hangs or crashes
    try {
      key->sign(data);
      ADD_FAILURE() << "signed without its token";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnavailable) << e.what();
      EXPECT_NE(std::string(e.what()).find("\"hostca-test\""), std::string::npos) << e.what();
    }
  }
  fs::remove(flag);
  EXPECT_TRUE(verifies(*key, data, key->sign(data)));
  EXPECT_LE(key->sessions_open(), through.max_sessions);
}

}  // namespace
}  // namespace hostca
