// tests/control/config_dir.h: a temporary directory holding copies of shipped configs.
//
// Daemon tests edit their config (reload, bad files) without touching the
// shipped ones: the TOML and its flow files are copied here unchanged, so
// the daemon resolves the flow files next to the copy. Removed on
// destruction.
#pragma once

#include <string>
#include <vector>

namespace sockswitch::test {

class ConfigDir final {
 public:
  explicit ConfigDir(const std::vector<std::string>& shipped_files);
  ~ConfigDir();
  ConfigDir(const ConfigDir&) = delete;
  ConfigDir& operator=(const ConfigDir&) = delete;

  [[nodiscard]] std::string path(const std::string& name) const;
  [[nodiscard]] std::string read(const std::string& name) const;
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string dir_;
};

// The path of a shipped config file (configs/NAME in the source tree).
[[nodiscard]] std::string shipped_config(const std::string& name);

}  // namespace sockswitch::test
