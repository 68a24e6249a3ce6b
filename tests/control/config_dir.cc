// tests/control/config_dir.cc: copy, read and write in a per-test temporary directory.
#include "tests/control/config_dir.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sockswitch::test {

namespace fs = std::filesystem;

std::string shipped_config(const std::string& name) {
  return std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + name;
}

ConfigDir::ConfigDir(const std::vector<std::string>& shipped_files) {
  static std::atomic<unsigned> next{0};
  dir_ = (fs::temp_directory_path() /
          ("sockswitch-ctl-" + std::to_string(::getpid()) + "-" + std::to_string(next++)))
             .string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  for (const auto& f : shipped_files)
    fs::copy_file(shipped_config(f), path(f));
}

ConfigDir::~ConfigDir() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string ConfigDir::path(const std::string& name) const {
  return dir_ + "/" + name;
}

std::string ConfigDir::read(const std::string& name) const {
  std::ifstream in(path(name));
  if (!in) throw std::runtime_error("cannot read " + path(name));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void ConfigDir::write(const std::string& name, const std::string& text) const {
  // Write a new file and rename it over the old: a reload never reads half.
  const std::string tmp = path(name) + ".new";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path(name));
}

}  // namespace sockswitch::test
