// flowtable/value_text.h: numbers and addresses as flow text, both ways.
//
// The flow parser, the action parser and the printer all read and write the
// same few value shapes (numbers, MACs, IPv4/IPv6 addresses and their masks).
// Keeping both directions in one place is what makes the printer's output
// parse back to the same bits.
//
// Numbers are decimal or 0x hex. A decimal number with a leading zero ("010")
// is rejected: ovs-ofctl reads it as octal, which is rarely what the writer
// meant, and a flow must mean exactly what its line says.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "flowtable/flow_key.h"

namespace sockswitch::flowtable {

// A value that does not parse. `predicate` messages read as a continuation of
// the token ("is out of range 0..4095"); others stand alone after a colon.
class ValueError : public std::runtime_error {
 public:
  explicit ValueError(const std::string& what, bool predicate = false)
      : std::runtime_error(what), predicate_(predicate) {}
  [[nodiscard]] bool predicate() const noexcept { return predicate_; }

 private:
  bool predicate_;
};

// "value/mask" -> ("value", "mask"); no slash -> ("value", nullopt).
struct MaskedText {
  std::string_view value;
  std::optional<std::string_view> mask;
};
[[nodiscard]] MaskedText split_mask(std::string_view s) noexcept;

[[nodiscard]] std::uint64_t parse_number(std::string_view s);
// parse_number, then a check against 0..max (message names the range).
[[nodiscard]] std::uint64_t parse_number_max(std::string_view s, std::uint64_t max);
[[nodiscard]] std::uint64_t parse_mac(std::string_view s);
[[nodiscard]] std::uint32_t parse_ipv4(std::string_view s);
[[nodiscard]] Wide parse_ipv6(std::string_view s);
// "/N" or "/A.B.C.D" after the slash.
[[nodiscard]] std::uint32_t parse_ipv4_mask(std::string_view s);
[[nodiscard]] Wide parse_ipv6_mask(std::string_view s);

[[nodiscard]] std::string format_hex(std::uint64_t v);
[[nodiscard]] std::string format_mac(std::uint64_t mac);
[[nodiscard]] std::string format_ipv4(std::uint32_t addr);
[[nodiscard]] std::string format_ipv6(Wide addr);
// "/N" for a prefix mask, "/A.B.C.D" otherwise, "" for all ones.
[[nodiscard]] std::string format_ipv4_mask(std::uint32_t mask);
[[nodiscard]] std::string format_ipv6_mask(Wide mask);

[[nodiscard]] bool equals_ignore_case(std::string_view a, std::string_view b) noexcept;

}  // namespace sockswitch::flowtable
