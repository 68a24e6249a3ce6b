// tests/control/broadcast_pcap.h: a pcap file of one broadcast frame, for a pcap port to replay.
//
// NORMAL learns the frame's source address on the port that replays it,
// without root or a network: what the MAC-table tests start from.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sockswitch::test {

// Writes `path`: one 60-byte broadcast frame from 02:00:00:00:00:01
// (EtherType 0x88b5, local experimental). Throws when it cannot.
inline void write_broadcast_pcap(const std::string& path) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* out = pcap_dump_open(dead, path.c_str());
  if (out == nullptr) {
    const std::string why = pcap_geterr(dead);
    pcap_close(dead);
    throw std::runtime_error(path + ": " + why);
  }
  std::uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5};
  pcap_pkthdr h{};
  h.caplen = h.len = sizeof frame;
  pcap_dump(reinterpret_cast<u_char*>(out), &h, frame);
  pcap_dump_close(out);
  pcap_close(dead);
}

}  // namespace sockswitch::test
