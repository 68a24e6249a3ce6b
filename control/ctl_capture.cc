// control/ctl_capture.cc: the client of `ctl capture`. It arms a capture,
// asks for what it took every 100 ms and writes the frames as pcap with
// libpcap's own writer (nanosecond timestamps, Ethernet), so tcpdump,
// Wireshark and tshark read the file or the stream. A client that goes
// away leaves a capture the daemon takes off a few seconds later.
#include <openssl/evp.h>
#include <pcap/pcap.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/ctl_command.h"
#include "ports/port_capture.h"

namespace sockswitch::control {
namespace {

struct CaptureRequest {
  std::string bridge, port;
  std::string direction = "both";
  std::optional<std::uint64_t> count;
  std::string file;  // "-": stdout
};

CaptureRequest parse_capture_request(const std::vector<std::string>& words) {
  CaptureRequest r;
  std::vector<std::string> positional;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--rx" || w == "--tx" || w == "--both") {
      r.direction = w.substr(2);
    } else if ((w == "-c" || w == "-w") && i + 1 < words.size()) {
      const std::string& v = words[++i];
      if (w == "-w") {
        r.file = v;
        continue;
      }
      std::size_t used = 0;
      try {
        r.count = std::stoull(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || v.empty() || v[0] == '-' || *r.count == 0)
        throw std::invalid_argument("capture: -c '" + v + "' is not a positive whole number");
    } else if (w.starts_with("-") && w != "-") {
      throw std::invalid_argument("capture: unknown option '" + w + "'");
    } else {
      positional.push_back(w);
    }
  }
  if (positional.size() != 2 || r.file.empty())
    throw std::invalid_argument(
        "usage: capture BRIDGE PORT [--rx|--tx|--both] [-c N] -w FILE|- (pcap; `-w -` for a pipe)");
  r.bridge = positional[0];
  r.port = positional[1];
  return r;
}

std::string unbase64(const std::string& text) {
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0 || text.size() % 4 != 0) throw std::runtime_error("capture: a frame is not base64");
  std::size_t pad = 0;  // EVP_DecodeBlock counts the padding as zero bytes
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i)
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

// The pcap stream: libpcap's writer on a dead handle of our link type.
class PcapWriter final {
 public:
  explicit PcapWriter(const std::string& file)
      : dead_(pcap_open_dead_with_tstamp_precision(DLT_EN10MB, ports::PortCapture::kSnapLength,
                                                   PCAP_TSTAMP_PRECISION_NANO),
              &pcap_close) {
    if (!dead_) throw std::runtime_error("capture: libpcap cannot make a writer");
    dumper_ = file == "-" ? pcap_dump_fopen(dead_.get(), stdout)
                          : pcap_dump_open(dead_.get(), file.c_str());
    if (dumper_ == nullptr)
      throw std::runtime_error(fmt::format("capture: {}: {}", file, pcap_geterr(dead_.get())));
  }
  ~PcapWriter() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
  }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(std::uint64_t time_ns, std::uint32_t length, const std::string& bytes) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(time_ns / 1'000'000'000U);
    h.ts.tv_usec = static_cast<suseconds_t>(time_ns % 1'000'000'000U);  // nanoseconds here
    h.caplen = static_cast<bpf_u_int32>(bytes.size());
    h.len = length;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h,
              reinterpret_cast<const u_char*>(bytes.data()));
  }
  // False once the reader has gone (a closed pipe) or the disk is full.
  [[nodiscard]] bool flush() { return pcap_dump_flush(dumper_) == 0; }

 private:
  std::unique_ptr<pcap_t, decltype(&pcap_close)> dead_;
  pcap_dumper_t* dumper_ = nullptr;
};

std::atomic<bool> interrupted{false};

}  // namespace

int capture(const std::string& socket_path, const std::vector<std::string>& words,
            std::ostream& /*out*/, std::ostream& err) {
  try {
    const CaptureRequest r = parse_capture_request(words);
    PcapWriter pcap(r.file);  // before arming: a file that cannot be written arms nothing
    // Ctrl-C ends the capture cleanly; a reader that closes the pipe ends
    // it too (the write fails instead of killing us with SIGPIPE).
    std::signal(SIGINT, [](int) { interrupted = true; });
    std::signal(SIGTERM, [](int) { interrupted = true; });
    std::signal(SIGPIPE, SIG_IGN);
    const std::string started =
        ctl_request(socket_path, "capture-start", {r.bridge, r.port, r.direction});
    const std::string id = started.substr(0, started.find('\n'));
    std::uint64_t written = 0;
    for (;;) {
      const bool stop = interrupted || (r.count && written >= *r.count);
      std::vector<std::string> read{id};
      if (stop) read.push_back("--stop");
      const nlohmann::json status =
          nlohmann::json::parse(ctl_request(socket_path, "capture-read", read));
      for (const nlohmann::json& f : status.at("frames")) {
        if (r.count && written >= *r.count) break;
        pcap.write(f.at("t").get<std::uint64_t>(), f.at("len").get<std::uint32_t>(),
                   unbase64(f.at("data").get<std::string>()));
        ++written;
      }
      const bool reader_gone = !pcap.flush();
      if (stop) {
        err << fmt::format(
            "capture: {} frames written; {} dropped from the capture (not from "
            "the traffic) while the reader was behind\n",
            written, status.value("dropped", 0U));
        return 0;
      }
      if (reader_gone) interrupted = true;  // one more read, to take it off
      if (!status.value("open", true) && status.at("frames").empty()) {
        (void)ctl_request(socket_path, "capture-read", {id, "--stop"});
        err << fmt::format("capture: port {} was closed or reopened; {} frames written\n", r.port,
                           written);
        return 1;
      }
      if (!status.value("more", false)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace sockswitch::control
