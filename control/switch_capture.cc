// control/switch_capture.cc: `ctl capture`, the control thread's side.
//
// The daemon never waits for frames inside a request: the client arms a
// capture and reads it every 100 ms or so (control/ctl_capture.cc), each
// read handing over what the poll threads copied in since. Frames travel
// base64-encoded in the JSON reply; the client writes them as pcap.
#include <openssl/evp.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "control/switch.h"
#include "packet/rcu.h"

namespace sockswitch::control {
namespace {

std::string base64(std::span<const std::uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

const char* direction_name(ports::CaptureDirection d) {
  return d == ports::CaptureDirection::tx ? "tx" : "rx";
}

}  // namespace

std::uint64_t Switch::start_capture(const std::string& bridge_name, const std::string& port_name,
                                    ports::CaptureDirection directions) {
  RunningBridge& b = bridge(bridge_name);
  const auto running = std::find_if(b.ports.begin(), b.ports.end(), [&](const RunningPort& p) {
    return p.config.name == port_name;
  });
  if (running == b.ports.end() || !running->port)
    throw std::invalid_argument(
        fmt::format("no port named '{}' is open on bridge {}", port_name, bridge_name));
  if (running->port->capture() != nullptr)
    throw std::invalid_argument(
        fmt::format("port {} is already being captured; one at a time", port_name));
  auto capture = std::make_unique<ports::PortCapture>(directions);
  running->port->set_capture(capture.get());
  const std::uint64_t id = next_capture_++;
  captures_.emplace(id, ArmedCapture{bridge_name, port_name, std::move(capture),
                                     std::chrono::steady_clock::now()});
  spdlog::info("port {}: capture {} armed", port_name, id);
  return id;
}

// The port the capture hangs on, if it still does (a port reopened by a
// reload or removed has let go of it).
ports::Port* Switch::capture_holder(const ArmedCapture& armed) {
  if (!has_bridge(armed.bridge)) return nullptr;
  for (RunningPort& p : bridge(armed.bridge).ports)
    if (p.config.name == armed.port && p.port && p.port->capture() == armed.capture.get())
      return p.port.get();
  return nullptr;
}

std::string Switch::read_capture(std::uint64_t id, std::size_t max_frames, bool stop) {
  const auto it = captures_.find(id);
  if (it == captures_.end())
    throw std::invalid_argument(fmt::format("no capture {} (stopped, or expired)", id));
  ArmedCapture& armed = it->second;
  armed.last_read = std::chrono::steady_clock::now();
  ports::Port* port = capture_holder(armed);
  if (stop && port != nullptr) {
    port->set_capture(nullptr);
    packet::rcu_synchronize();  // no poll thread is still copying in
  }
  nlohmann::json frames = nlohmann::json::array();
  ports::PortCapture::Frame f;
  for (std::size_t i = 0; i < max_frames && armed.capture->take(f); ++i)
    frames.push_back({{"t", f.time_ns},
                      {"len", f.length},
                      {"dir", direction_name(f.direction)},
                      {"data", base64(std::span(f.data.data(), f.captured))}});
  const nlohmann::json reply{{"frames", std::move(frames)},
                             {"recorded", armed.capture->recorded()},
                             {"dropped", armed.capture->dropped()},
                             {"open", port != nullptr},
                             {"more", armed.capture->has_frame()}};
  if (stop) {
    spdlog::info("port {}: capture {} stopped ({} frames, {} dropped)", armed.port, id,
                 armed.capture->recorded(), armed.capture->dropped());
    captures_.erase(it);
  }
  return reply.dump();
}

void Switch::expire_captures() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = captures_.begin(); it != captures_.end();) {
    ArmedCapture& armed = it->second;
    if (now - armed.last_read < kCaptureIdle) {
      ++it;
      continue;
    }
    if (ports::Port* port = capture_holder(armed)) {
      port->set_capture(nullptr);
      packet::rcu_synchronize();
    }
    spdlog::info("port {}: capture {} taken off: its client did not come back", armed.port,
                 it->first);
    it = captures_.erase(it);
  }
}

}  // namespace sockswitch::control
