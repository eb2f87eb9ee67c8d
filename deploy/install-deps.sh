#!/usr/bin/env bash
# Installs the Debian 12 packages hostca needs to build, serve and test,
# asking dpkg first so that a second run installs nothing and takes a moment.
set -euo pipefail

PACKAGES=(
  # build
  g++ cmake ninja-build pkg-config
  libbotan-2-dev libpqxx-dev libgrpc++-dev libprotobuf-dev protobuf-compiler
  protobuf-compiler-grpc libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev
  libssl-dev  # OpenSSL's libcrypto: the CA's signatures and CSR checks
  libp11-kit-dev  # the PKCS#11 header (the CA key in an HSM, ca/pki/pkcs11_key)
  # run: a private PostgreSQL 15 and the tools the quick start uses
  postgresql-15 openssl ca-certificates
  # test: GoogleTest, and the independent checkers and client
  libgtest-dev libgmock-dev python3 python3-grpcio python3-protobuf
  python3-cryptography gnutls-bin nginx-light systemd python3-yaml yamllint
  # test: the console in a real browser (tests/e2e/test_console_browser.py)
  chromium chromium-driver python3-selenium libnss3-tools
  # test: the CA key in a PKCS#11 token (tests/hsm), against SoftHSM2
  softhsm2
  # fuzz: clang with libFuzzer and the sanitizer runtimes (deploy/fuzz.sh)
  clang libclang-rt-14-dev
  # benchmark: Google Benchmark, and the botan CLI for the crypto bound (bench/run.sh)
  libbenchmark-dev botan
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
