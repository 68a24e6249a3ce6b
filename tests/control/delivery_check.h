// tests/control/delivery_check.h: where did each test frame arrive, and where not.
//
// Every frame a test sends gets a marker at its end (magic + frame number),
// so a receiver can tell the test's frames from anything else. send() puts a
// frame on the wire at one container and says exactly which containers must
// receive it; verify() then collects from every container until each
// expected copy arrived (or the deadline), keeps collecting for a short
// grace period to catch copies that must not arrive, and reports every
// difference: a frame missing where it should be, present where it must not
// be, duplicated, or changed on the way.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/control/switch_host.h"
#include "tests/dataplane/frame_builder.h"

namespace sockswitch::test {

class DeliveryCheck final {
 public:
  // Receivers: every container of `host` named here.
  DeliveryCheck(SwitchHost& host, const std::vector<std::string>& ports);

  // Appends the marker and sends; `what` names the frame in failure reports.
  void send(const std::string& from, std::vector<std::uint8_t> frame, std::set<std::string> to,
            const std::string& what);

  // "" when every frame arrived exactly where expected; else one line per problem.
  [[nodiscard]] std::string verify(
      std::chrono::milliseconds timeout = std::chrono::seconds(3),
      std::chrono::milliseconds grace = std::chrono::milliseconds(200));

  // Frames without a marker each receiver saw (kernel answers, strays).
  [[nodiscard]] std::size_t unmarked(const std::string& port) const {
    return unmarked_.count(port) ? unmarked_.at(port) : 0;
  }
  [[nodiscard]] std::size_t marked(const std::string& port) const;

 private:
  struct Sent {
    std::vector<std::uint8_t> bytes;
    std::set<std::string> to;
    std::string what;
  };
  void collect(const std::string& port, std::chrono::milliseconds timeout);
  [[nodiscard]] bool complete() const;

  SwitchHost& host_;
  std::vector<std::string> ports_;
  std::uint32_t magic_;
  std::vector<Sent> sent_;
  std::map<std::string, std::map<std::uint32_t, int>> got_;  // port -> frame -> copies
  std::map<std::string, std::size_t> unmarked_;
  std::vector<std::string> changed_;
};

// Frame helpers: MACs and IPv4 addresses as integers, as FrameBuilder takes them.
[[nodiscard]] std::uint32_t ipv4(const std::string& dotted);
inline constexpr std::uint64_t kBroadcast = 0xffffffffffff;
inline dataplane::test::FrameBuilder::Ipv4 ip_header(std::uint8_t proto, std::uint32_t src,
                                                     std::uint32_t dst) {
  dataplane::test::FrameBuilder::Ipv4 h;
  h.proto = proto;
  h.src = src;
  h.dst = dst;
  return h;
}

}  // namespace sockswitch::test
