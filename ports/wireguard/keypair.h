// ports/wireguard/keypair.h: one transport session (the whitepaper's keypair).
//
// Made by the handshake thread from SessionKeys, then read by the poll
// thread through the peer's current/previous/next pointers and the receive
// index table. The poll thread alone touches `replay`; the send counter is
// an atomic fetch_add because the handshake thread also sends keepalives
// on the session. Keys are wiped when the keypair is freed.
#pragma once

#include <atomic>
#include <cstdint>

#include "ports/wireguard/key.h"
#include "ports/wireguard/peer_clock.h"
#include "ports/wireguard/replay_window.h"

namespace sockswitch::wireguard {

struct Peer;

struct Keypair {
  SecretKey send;
  SecretKey receive;
  std::uint32_t local_index = 0;
  std::uint32_t remote_index = 0;
  bool we_initiated = false;
  TimePoint created{};
  Peer* peer = nullptr;  // outlives the keypair (both retired together)

  std::atomic<std::uint64_t> send_counter{0};
  // The responder's session is confirmed by the first packet on it; the
  // poll thread sets this, tick() then makes the keypair current.
  std::atomic<bool> received_first{false};
  ReplayWindow replay;  // poll thread only
};

}  // namespace sockswitch::wireguard
