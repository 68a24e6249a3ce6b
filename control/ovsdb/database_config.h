// control/ovsdb/database_config.h: the Open vSwitch database's rows as the wanted Config.
//
// ovs-vswitchd's bridge.c, as data: the Bridge, Port and Interface rows
// under the Open_vSwitch row become BridgeConfig and PortConfig values
// (origin database) added to the file's Config, so that the one reload
// plan applies them. What a row asks for that sockswitch does not carry out
// is never dropped silently: a setting without which the port would behave
// differently (a VLAN tag, a bond, a tunnel type) keeps the interface out
// with an `error`; one that only adds to it (QoS, STP, mirrors) is noted in
// `status` and in the log.
//
// Stateful only in its port numbers (OfportAllocator per bridge), which
// stay with their Interface rows as OVS's do.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/ovsdb/ofport_allocator.h"
#include "control/ovsdb/replica.h"

namespace sockswitch::control::ovsdb {

// What became of one Interface row of a database bridge.
struct InterfaceOutcome {
  std::string uuid;
  std::string bridge;
  std::string name;
  std::optional<std::uint32_t> ofport;        // nullopt: not configured (written as -1)
  std::string error;                          // why not, in words `ovs-vsctl` prints
  std::map<std::string, std::string> status;  // asked for, not carried out
  std::optional<std::uint32_t> mtu_request;
};

struct BridgeOutcome {
  std::string uuid;
  std::string name;
  std::string error;  // the bridge is not configured at all
  std::map<std::string, std::string> status;
  std::string datapath_id;  // 16 hex digits, from other_config:datapath-id or the bridge's MAC
};

// A Controller row of a configured bridge: its connection state is written
// back to it (is_connected, role, status).
struct ControllerOutcome {
  std::string uuid;
  std::string bridge;
  std::string target;
  std::string error;  // a target sockswitch cannot use (ssl:, malformed): never connected
};

struct DatabaseSnapshot {
  Config wanted;          // the file's bridges and the database's
  std::string root_uuid;  // the Open_vSwitch row
  std::optional<std::int64_t> next_cfg;
  std::vector<BridgeOutcome> bridges;
  std::vector<InterfaceOutcome> interfaces;
  std::vector<ControllerOutcome> controllers;
  std::vector<std::string> notes;  // for the log (the source logs each once)
};

class DatabaseConfig final {
 public:
  // `file`: the TOML config (its bridges stay; its flows for database
  // bridges are parsed here). `running`: the config the switch runs now,
  // whose flows a database bridge keeps when the file's no longer parse.
  [[nodiscard]] DatabaseSnapshot build(const Replica& db, const Config& file, const Config& running,
                                       OfportAllocator::Clock::time_point now);

 private:
  struct Numbered {
    std::string bridge_uuid;
    std::uint32_t ofport;
  };
  std::optional<std::uint32_t> number(const Replica::Row& iface, const std::string& uuid,
                                      const std::string& bridge_uuid,
                                      OfportAllocator::Clock::time_point now);

  std::map<std::string, OfportAllocator> allocators_;  // by Bridge row UUID
  std::map<std::string, Numbered> numbers_;            // by Interface row UUID
};

}  // namespace sockswitch::control::ovsdb
