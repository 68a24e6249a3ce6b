// flowtable/port_map.cc: name <-> number lookups for one bridge.
#include "flowtable/port_map.h"

#include <charconv>
#include <stdexcept>

namespace sockswitch::flowtable {

void PortMap::add(std::string name, PortNo no) {
  if (to_u32(no) == 0 || to_u32(no) > to_u32(kPortMax))
    throw std::invalid_argument("port number " + std::to_string(to_u32(no)) + " for '" + name +
                                "' is outside 1..65280");
  if (by_name_.count(name)) throw std::invalid_argument("port '" + name + "' given twice");
  if (by_number_.count(to_u32(no)))
    throw std::invalid_argument("port number " + std::to_string(to_u32(no)) + " given to both '" +
                                by_number_[to_u32(no)] + "' and '" + name + "'");
  by_number_.emplace(to_u32(no), name);
  by_name_.emplace(std::move(name), no);
}

std::optional<PortNo> PortMap::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<PortNo> PortMap::resolve(std::string_view s) {
  // A name in double quotes, as ovs-ofctl prints names that are not plain
  // alphanumerics ("nm-server"), with JSON's \" and \\ escapes.
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    std::string name;
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
      if (s[i] == '\\' && i + 2 < s.size()) ++i;
      name += s[i];
    }
    if (name.empty()) return std::nullopt;
    if (auto found = find(name)) return found;
    if (!auto_number_) return std::nullopt;
    return resolve(name);
  }
  if (auto found = find(s)) return found;
  std::uint32_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec == std::errc{} && end == s.data() + s.size() && !s.empty()) {
    if (n == 0 || n > to_u32(kPortMax)) return std::nullopt;
    return PortNo{n};
  }
  if (!auto_number_) return std::nullopt;
  std::uint32_t next = 1;
  while (by_number_.count(next))
    ++next;
  if (next > to_u32(kPortMax)) return std::nullopt;
  add(std::string(s), PortNo{next});
  return PortNo{next};
}

bool PortMap::remove(std::string_view name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  by_number_.erase(to_u32(it->second));
  by_name_.erase(it);
  return true;
}

std::optional<std::string_view> PortMap::name_of(PortNo no) const {
  auto it = by_number_.find(to_u32(no));
  if (it == by_number_.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace sockswitch::flowtable
