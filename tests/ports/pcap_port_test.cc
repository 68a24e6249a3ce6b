// tests/ports/pcap_port_test.cc: replaying and recording capture files.
//
// Plan: write a capture of three frames with libpcap, replay it through a
// PcapPort into a bridge whose flows send UDP to a second PcapPort, then read
// that port's capture back: exactly the UDP frames, byte for byte.
#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <filesystem>

#include "dataplane/bridge.h"
#include "dataplane/pipeline.h"
#include "flowtable/flow_parser.h"
#include "ports/pcap_port.h"

// g++ 12 flags designated initialisers that leave defaulted members out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sockswitch::ports {
namespace {

std::vector<std::uint8_t> frame(std::uint8_t proto, std::uint8_t tag) {
  std::vector<std::uint8_t> f(60, 0);
  const std::uint8_t head[] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 46};
  std::copy(std::begin(head), std::end(head), f.begin());
  f[22] = 64;
  f[23] = proto;
  f[34 + 12] = 0x50;  // TCP data offset (harmless for UDP)
  f[59] = tag;
  return f;
}

class TempPath {
 public:
  explicit TempPath(const char* what)
      : path_(std::filesystem::temp_directory_path() /
              (std::string("sockswitch-") + what + "-" + std::to_string(::getpid()) + ".pcap")) {}
  ~TempPath() { std::filesystem::remove(path_); }
  [[nodiscard]] std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void write_capture(const std::string& path, const std::vector<std::vector<std::uint8_t>>& frames) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr);
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

std::vector<std::vector<std::uint8_t>> read_capture(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  EXPECT_NE(p, nullptr) << err;
  std::vector<std::vector<std::uint8_t>> frames;
  pcap_pkthdr* h;
  const u_char* data;
  while (p && pcap_next_ex(p, &h, &data) == 1)
    frames.emplace_back(data, data + h->caplen);
  if (p) pcap_close(p);
  return frames;
}

TEST(PcapPort, ReplayThroughTheSwitchAndRecord) {
  TempPath in("in"), out("out");
  const auto udp1 = frame(17, 1), tcp = frame(6, 2), udp2 = frame(17, 3);
  write_capture(in.str(), {udp1, tcp, udp2});

  PcapPort src("src", {.rx_file = in.str()});
  PcapPort dst("dst", {.tx_file = out.str()});
  dataplane::Bridge bridge("br", 0);
  bridge.set_ports({{flowtable::PortNo{1}, &src}, {flowtable::PortNo{2}, &dst}});
  flowtable::PortMap map;
  map.add("src", flowtable::PortNo{1});
  map.add("dst", flowtable::PortNo{2});
  bridge.apply_flows(std::vector<flowtable::FlowMod>{
      {flowtable::FlowModCommand::add, flowtable::parse_flow("priority=5,udp,actions=output:dst",
                                                             map, flowtable::FlowSyntax::add)}});

  packet::PacketPool pool(64);
  dataplane::ThreadStats stats;
  dataplane::Pipeline pipeline(0, pool, stats);
  packet::Burst burst;
  burst.set_size(src.rx_burst(0, pool, burst.storage()));
  EXPECT_EQ(burst.size(), 3u);
  for (packet::Packet* p : burst)
    p->set_in_port(flowtable::PortNo{1});
  pipeline.process(*bridge.published(), burst.packets(), std::chrono::seconds(1));
  pipeline.flush();
  EXPECT_TRUE(src.replay_done());
  EXPECT_EQ(src.rx_burst(0, pool, burst.storage()), 0u);
  dst.flush();

  const auto got = read_capture(out.str());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], udp1);
  EXPECT_EQ(got[1], udp2);
  EXPECT_EQ(dst.counters().tx_packets, 2u);
  EXPECT_EQ(stats.dropped(dataplane::Drop::no_match), 1u);
  EXPECT_EQ(pool.available(), pool.size());
}

TEST(PcapPort, MissingCaptureIsAClearError) {
  try {
    PcapPort p("x", {.rx_file = std::string("/nonexistent/capture.pcap")});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/capture.pcap"), std::string::npos);
  }
}

}  // namespace
}  // namespace sockswitch::ports
