// tests/control/delivery_check.cc: marking, collecting and comparing test frames.
#include "tests/control/delivery_check.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <random>
#include <sstream>
#include <stdexcept>

namespace sockswitch::test {
namespace {

using Clock = std::chrono::steady_clock;

void put32(std::vector<std::uint8_t>& f, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8)
    f.push_back(static_cast<std::uint8_t>(v >> s));
}

std::uint32_t get32(const std::vector<std::uint8_t>& f, std::size_t at) {
  return std::uint32_t{f[at]} << 24 | std::uint32_t{f[at + 1]} << 16 |
         std::uint32_t{f[at + 2]} << 8 | f[at + 3];
}

std::string names(const std::set<std::string>& s) {
  std::string out = "{";
  for (const auto& n : s)
    out += (out.size() > 1 ? ", " : "") + n;
  return out + "}";
}

}  // namespace

std::uint32_t ipv4(const std::string& dotted) {
  in_addr a{};
  if (::inet_pton(AF_INET, dotted.c_str(), &a) != 1)
    throw std::invalid_argument("bad address " + dotted);
  return ntohl(a.s_addr);
}

DeliveryCheck::DeliveryCheck(SwitchHost& host, const std::vector<std::string>& ports)
    : host_(host), ports_(ports), magic_(std::random_device{}() | 1) {
  for (const auto& p : ports_)
    (void)host_[p].wire->receive_ready();  // start clean
}

void DeliveryCheck::send(const std::string& from, std::vector<std::uint8_t> frame,
                         std::set<std::string> to, const std::string& what) {
  // The marker sits at the very end, after padding to the 60-byte minimum.
  if (frame.size() < 52) frame.resize(52, 0);
  put32(frame, magic_);
  put32(frame, static_cast<std::uint32_t>(sent_.size()));
  // An IPv4 total length covers the padding and marker (FrameBuilder filled it
  // in before they were added): rewrite it so that receivers' kernels see a
  // consistent packet.
  if (frame[12] == 0x08 && frame[13] == 0x00) {
    const std::size_t total = frame.size() - 14;
    frame[16] = static_cast<std::uint8_t>(total >> 8);
    frame[17] = static_cast<std::uint8_t>(total);
  }
  host_[from].wire->send(frame);
  sent_.push_back({std::move(frame), std::move(to), what + " (from " + from + ")"});
}

void DeliveryCheck::collect(const std::string& port, std::chrono::milliseconds timeout) {
  for (const net::Frame& f : host_[port].wire->receive(timeout)) {
    const std::size_t n = f.size();
    if (n < 8 || get32(f, n - 8) != magic_) {
      ++unmarked_[port];
      continue;
    }
    const std::uint32_t id = get32(f, n - 4);
    if (id >= sent_.size() || f != sent_[id].bytes) {
      // A kernel quoting our frame (ICMP error) ends with the marker too.
      ++unmarked_[port];
      if (id < sent_.size() && f.size() == sent_[id].bytes.size())
        changed_.push_back(sent_[id].what + " arrived changed at " + port);
      continue;
    }
    ++got_[port][id];
  }
}

bool DeliveryCheck::complete() const {
  for (std::uint32_t id = 0; id < sent_.size(); ++id)
    for (const auto& port : sent_[id].to) {
      const auto p = got_.find(port);
      if (p == got_.end() || !p->second.count(id)) return false;
    }
  return true;
}

std::size_t DeliveryCheck::marked(const std::string& port) const {
  std::size_t n = 0;
  if (got_.count(port))
    for (const auto& [id, copies] : got_.at(port))
      n += static_cast<std::size_t>(copies);
  return n;
}

std::string DeliveryCheck::verify(std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds grace) {
  const auto deadline = Clock::now() + timeout;
  while (!complete() && Clock::now() < deadline)
    for (const auto& p : ports_)
      collect(p, std::chrono::milliseconds(2));
  // Copies that must not arrive get the same chance to show up.
  const auto grace_end = Clock::now() + grace;
  while (Clock::now() < grace_end)
    for (const auto& p : ports_)
      collect(p, std::chrono::milliseconds(2));

  std::ostringstream out;
  for (std::uint32_t id = 0; id < sent_.size(); ++id) {
    std::set<std::string> at;
    for (const auto& p : ports_)
      if (got_[p].count(id)) {
        at.insert(p);
        if (got_[p][id] > 1)
          out << sent_[id].what << ": " << got_[p][id] << " copies at " << p << "\n";
      }
    if (at != sent_[id].to)
      out << sent_[id].what << ": expected at " << names(sent_[id].to) << ", arrived at "
          << names(at) << "\n";
  }
  for (const auto& c : changed_)
    out << c << "\n";
  return out.str();
}

}  // namespace sockswitch::test
