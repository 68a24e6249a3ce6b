// bench/traffic_gen.cc: the end-to-end harness's packet generator.
//
// Sends IPv4/UDP frames of a fixed size out of one device through a packet
// socket (sendmmsg, qdisc bypass), either as fast as the kernel takes them or
// paced to a given rate, for a fixed time, and prints one JSON line with how
// many frames the kernel accepted. It is run inside the generator namespace
// by bench/harness/e2e.py (`ip netns exec GEN traffic_gen ...`); what arrives
// is counted by the harness from the sink device's rx_packets.
//
// The UDP source port cycles over --flows values (1000, 1001, ...), so a
// switch sees that many distinct 5-tuples; UDP checksums are 0 (allowed in
// IPv4), the IPv4 header checksum is correct.
//
// Usage:
//   traffic_gen --dev IF --src-mac M --dst-mac M --src-ip A --dst-ip A
//               [--size 64] [--rate PPS (0 = as fast as possible)]
//               [--seconds S] [--flows N] [--dst-port P]
// --size counts the 4-byte FCS, as RFC 2544 does: 64 sends 60-byte frames.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string dev;
  std::array<std::uint8_t, 6> src_mac{}, dst_mac{};
  in_addr src_ip{}, dst_ip{};
  unsigned size = 64;
  double rate = 0;
  double seconds = 1;
  unsigned flows = 1;
  unsigned dst_port = 9;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "traffic_gen: %s\nusage: traffic_gen --dev IF --src-mac M --dst-mac M --src-ip A "
               "--dst-ip A [--size 64] [--rate PPS] [--seconds S] [--flows N] [--dst-port P]\n",
               why);
  std::exit(2);
}

std::array<std::uint8_t, 6> parse_mac(const std::string& s) {
  std::array<std::uint8_t, 6> m{};
  unsigned v[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    usage(("bad MAC address: " + s).c_str());
  for (int i = 0; i < 6; ++i)
    m[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v[i]);
  return m;
}

in_addr parse_ip(const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) usage(("bad IPv4 address: " + s).c_str());
  return a;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--dev")
      o.dev = v;
    else if (k == "--src-mac")
      o.src_mac = parse_mac(v);
    else if (k == "--dst-mac")
      o.dst_mac = parse_mac(v);
    else if (k == "--src-ip")
      o.src_ip = parse_ip(v);
    else if (k == "--dst-ip")
      o.dst_ip = parse_ip(v);
    else if (k == "--size")
      o.size = static_cast<unsigned>(std::stoul(v));
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--flows")
      o.flows = static_cast<unsigned>(std::stoul(v));
    else if (k == "--dst-port")
      o.dst_port = static_cast<unsigned>(std::stoul(v));
    else
      usage(("unknown option " + k).c_str());
  }
  if (o.dev.empty()) usage("--dev is required");
  if (o.size < 64 || o.size > 1518) usage("--size must be 64..1518 (with FCS)");
  if (o.flows < 1 || o.flows > 60000) usage("--flows must be 1..60000");
  return o;
}

void put16(std::uint8_t* p, unsigned v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// One frame per flow, back to back in one buffer.
std::vector<std::uint8_t> build_frames(const Options& o, std::size_t frame_len) {
  std::vector<std::uint8_t> buf(frame_len * o.flows, 0);
  const std::size_t ip_len = frame_len - 14;
  for (unsigned f = 0; f < o.flows; ++f) {
    std::uint8_t* p = buf.data() + f * frame_len;
    std::memcpy(p, o.dst_mac.data(), 6);
    std::memcpy(p + 6, o.src_mac.data(), 6);
    put16(p + 12, 0x0800);
    std::uint8_t* ip = p + 14;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<unsigned>(ip_len));
    ip[8] = 64;
    ip[9] = 17;  // UDP
    std::memcpy(ip + 12, &o.src_ip, 4);
    std::memcpy(ip + 16, &o.dst_ip, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
      sum += static_cast<std::uint32_t>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
      sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, ~sum & 0xffff);
    std::uint8_t* udp = ip + 20;
    put16(udp, 1000 + f);
    put16(udp + 2, o.dst_port);
    put16(udp + 4, static_cast<unsigned>(ip_len - 20));
  }
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::size_t frame_len = o.size - 4;  // the FCS is the NIC's (here: nobody's)
  std::vector<std::uint8_t> frames = build_frames(o, frame_len);

  const int s = ::socket(AF_PACKET, SOCK_RAW, 0);
  if (s < 0) {
    std::perror("traffic_gen: socket(AF_PACKET)");
    return 1;
  }
  const int one = 1;
  (void)::setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_ifindex = static_cast<int>(::if_nametoindex(o.dev.c_str()));
  if (addr.sll_ifindex == 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror(("traffic_gen: bind " + o.dev).c_str());
    return 1;
  }

  constexpr unsigned kBatch = 32;
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  unsigned next_flow = 0;
  // Paced mode: small batches so the offered load is smooth at low rates.
  const unsigned batch =
      o.rate <= 0 ? kBatch : std::clamp(static_cast<unsigned>(o.rate / 20000), 1u, kBatch);
  auto refill = [&] {
    for (unsigned i = 0; i < batch; ++i) {
      iov[i] = {frames.data() + next_flow * frame_len, frame_len};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      next_flow = next_flow + 1 == o.flows ? 0 : next_flow + 1;
    }
  };

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const auto end =
      t0 + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.seconds));
  std::uint64_t sent = 0;
  refill();
  for (;;) {
    const auto now = clock::now();
    if (now >= end) break;
    if (o.rate > 0) {
      const auto due = t0 + std::chrono::duration_cast<clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(sent) / o.rate));
      if (now < due) {
        if (due - now > std::chrono::microseconds(200))
          std::this_thread::sleep_for(due - now - std::chrono::microseconds(100));
        continue;
      }
    }
    const int r = ::sendmmsg(s, msgs.data(), batch, 0);
    if (r > 0) {
      sent += static_cast<unsigned>(r);
      if (o.flows > 1) refill();
    }
  }
  const double dt = std::chrono::duration<double>(clock::now() - t0).count();
  ::close(s);
  std::printf("{\"sent\": %llu, \"seconds\": %.6f, \"pps\": %.1f, \"size\": %u, \"flows\": %u}\n",
              static_cast<unsigned long long>(sent), dt, static_cast<double>(sent) / dt, o.size,
              o.flows);
  return 0;
}
