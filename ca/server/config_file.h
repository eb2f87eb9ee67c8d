// The settings of `hostca-server serve`, from a TOML file, the environment
// (HOSTCA_<SECTION>_<KEY>) and flags, in that order of strength: flags win.
// Pure: text in, values out; nothing here opens a file or a connection.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/ca_server.h"

namespace hostca {

// Everything `serve` is told, before the passphrase is read.
struct ServeConfig {
  ServeConfig();

  ServeOptions options;         // options.secrets' passphrase and PIN stay empty here
  std::string passphrase_file;  // empty: $HOSTCA_PASSPHRASE
  std::string pkcs11_pin_file;  // empty: $HOSTCA_PKCS11_PIN
  std::string tls_dir = "./tls";
  std::string ready_file;
  std::string log_format = "text";
};

// One setting: its key in the file ("crl.validity"), its flag without the
// dashes ("crl-validity") and its environment variable.
struct ServeSetting {
  enum class Kind { kText, kInteger, kBoolean, kDuration };
  std::string key;
  std::string flag;
  Kind kind;
  std::string help;
  // Parses and checks the text, then stores it; throws Error naming only the
  // problem (the caller adds where it came from).
  std::function<void(ServeConfig&, const std::string&)> set;
  // The value as it would be written in the file (durations as "24h").
  std::function<std::string(const ServeConfig&)> get;

  std::string env_name() const;  // "HOSTCA_CRL_VALIDITY"
};

// Every setting, in the order of the example file.
const std::vector<ServeSetting>& serve_settings();

// Reads a TOML document into `config`; throws Error(kInvalidArgument) with one
// line naming the file and the key: "hostca.toml: crl.validity: '5x' is not a
// duration (use 30s, 15m, 24h, 7d)". Unknown keys are refused.
void apply_config_text(ServeConfig& config, const std::string& file_name, const std::string& text);

// Looks up an environment variable; nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string&)>;
Environment process_environment();

// Applies every HOSTCA_<SECTION>_<KEY> that is set and not empty.
void apply_environment(ServeConfig& config, const Environment& env);

// A value given on the command line for the setting with this key.
struct FlagValue {
  std::string key;
  std::string value;
};
void apply_flags(ServeConfig& config, const std::vector<FlagValue>& flags);

struct ConfigFile {
  std::string name;
  std::string text;
};

// Defaults, then the file, then the environment, then the flags.
ServeConfig load_serve_config(const std::optional<ConfigFile>& file, const Environment& env,
                              const std::vector<FlagValue>& flags);

// "24h", "90s", "7d": the largest unit that divides the duration (days only
// past one day).
std::string format_duration(Duration d);

}  // namespace hostca
