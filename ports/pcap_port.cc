// ports/pcap_port.cc: capture-file replay and recording.
#include "ports/pcap_port.h"

#include <sys/time.h>

#include <cstring>
#include <stdexcept>

namespace sockswitch::ports {

PcapPort::PcapPort(std::string name, PcapPortOptions options)
    : Port(std::move(name)), options_(std::move(options)) {
  if (options_.rx_file)
    open_rx();
  else
    done_ = true;
  if (options_.tx_file) {
    tx_handle_ = pcap_open_dead(DLT_EN10MB, 65535);
    dumper_ = pcap_dump_open(tx_handle_, options_.tx_file->c_str());
    if (dumper_ == nullptr) {
      const std::string why = pcap_geterr(tx_handle_);
      pcap_close(tx_handle_);
      if (rx_) pcap_close(rx_);
      throw std::runtime_error(*options_.tx_file + ": cannot write capture: " + why);
    }
  }
}

PcapPort::~PcapPort() {
  if (dumper_) pcap_dump_close(dumper_);
  if (tx_handle_) pcap_close(tx_handle_);
  if (rx_) pcap_close(rx_);
}

void PcapPort::open_rx() {
  char err[PCAP_ERRBUF_SIZE] = {};
  rx_ = pcap_open_offline(options_.rx_file->c_str(), err);
  if (rx_ == nullptr) throw std::runtime_error(*options_.rx_file + ": cannot read capture: " + err);
  if (pcap_datalink(rx_) != DLT_EN10MB) {
    pcap_close(rx_);
    rx_ = nullptr;
    throw std::runtime_error(*options_.rx_file + ": not an Ethernet capture");
  }
}

void PcapPort::flush() {
  if (dumper_ && pcap_dump_flush(dumper_) != 0)
    throw std::runtime_error(*options_.tx_file + ": write failed");
}

std::size_t PcapPort::rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                               std::span<packet::Packet*> out) noexcept {
  if (rx_ == nullptr || done_.load(std::memory_order_relaxed)) return 0;
  PortCounterCell& c = queue_counters(queue);
  std::size_t n = 0;
  std::uint64_t bytes = 0;
  while (n < out.size()) {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    const int r = pcap_next_ex(rx_, &h, &data);
    if (r == PCAP_ERROR_BREAK) {  // end of the capture
      if (options_.repeat != 0 && ++rounds_ >= options_.repeat) {
        done_.store(true, std::memory_order_release);
        break;
      }
      // Rewinding reopens the file: a rare, deliberate slow step.
      pcap_close(rx_);
      rx_ = nullptr;
      try {
        open_rx();
      } catch (...) {
        done_.store(true, std::memory_order_release);
        break;
      }
      continue;
    }
    if (r != 1) {
      PortCounterCell::add(c.rx_errors, 1);
      break;
    }
    packet::Packet* p = pool.alloc();
    if (p == nullptr) {
      PortCounterCell::add(c.rx_dropped, 1);
      break;
    }
    std::uint8_t* dst = p->append(h->caplen);
    if (dst == nullptr || h->caplen != h->len) {  // truncated capture or jumbo frame
      pool.free(p);
      PortCounterCell::add(c.rx_errors, 1);
      continue;
    }
    std::memcpy(dst, data, h->caplen);
    bytes += h->caplen;
    out[n++] = p;
  }
  if (n) {
    PortCounterCell::add(c.rx_packets, n);
    PortCounterCell::add(c.rx_bytes, bytes);
  }
  return n;
}

void PcapPort::tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                        std::span<packet::Packet* const> packets) noexcept {
  PortCounterCell& c = queue_counters(queue);
  if (dumper_ == nullptr) {
    PortCounterCell::add(c.tx_dropped, packets.size());
  } else {
    timeval now{};
    gettimeofday(&now, nullptr);
    std::uint64_t bytes = 0;
    for (const packet::Packet* p : packets) {
      pcap_pkthdr h{};
      h.ts = now;
      h.caplen = h.len = p->length();
      pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, p->data());
      bytes += p->length();
    }
    PortCounterCell::add(c.tx_packets, packets.size());
    PortCounterCell::add(c.tx_bytes, bytes);
  }
  pool.free_burst(packets);
}

}  // namespace sockswitch::ports
