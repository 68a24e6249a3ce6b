// control/port_arguments.cc: command-line port maps and file reading shared
// by the offline commands (`flows check`, `trace`).
#include "control/port_arguments.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sockswitch::control {

flowtable::PortMap port_map_from_arguments(const std::vector<std::string>& args) {
  flowtable::PortMap map;
  for (const std::string& arg : args) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--port '" + arg + "': expected NAME=NUMBER");
    const std::string name = arg.substr(0, eq);
    const std::string number = arg.substr(eq + 1);
    std::uint32_t n = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (ec != std::errc{} || end != number.data() + number.size() || number.empty())
      throw std::invalid_argument("--port '" + arg + "': '" + number + "' is not a port number");
    try {
      map.add(name, flowtable::PortNo{n});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--port '" + arg + "': " + e.what());
    }
  }
  return map;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return s.str();
}

}  // namespace sockswitch::control
