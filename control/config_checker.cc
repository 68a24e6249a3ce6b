// control/config_checker.cc: path resolution for the config's file names.
#include "control/config_checker.h"

#include <filesystem>

namespace sockswitch::control {

std::string resolve_path(const std::string& config_file, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (std::filesystem::path(config_file).parent_path() / p).lexically_normal().string();
}

}  // namespace sockswitch::control
