// control/reload_plan.h: what a reload changes, computed from two Configs alone.
//
// Config is data (Snabb's model): diff(running, wanted) lists, bridge by
// bridge, what each port has to go through to reach its wanted settings,
// which bridge settings and flow tables change and which bridges move to
// another poll thread. It opens nothing and reads no device, so every
// decision about what a reload touches is tested without root (diff(c, c)
// is empty; a changed MAC aging touches one bridge; a changed wg file
// retunes that port only). Switch::reload carries the plan out in phases.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/config.h"

namespace sockswitch::control {

// What a reload does to the flow tables of bridges that stay.
enum class FlowReload : std::uint8_t {
  replace,       // the file is the table: flows added at run time go
  when_changed,  // only where the flows or their basis changed (database bridges)
};

// How a wanted port reaches its settings.
enum class PortStep : std::uint8_t {
  keep,     // running with these settings: untouched (its VLAN role and proxy list follow)
  open,     // not running: opened before anything changes
  replace,  // running with other settings, on a device that can be held twice: the new
            // port opens first and the old one retires when the snapshot changes
  reopen,   // running with other settings (or moving to another poll thread's buffers) on a
            // device that cannot be held twice: closed, then opened (a short blip)
  retune,   // a wireguard port whose peers or keys changed: applied in place
};

[[nodiscard]] std::string_view port_step_name(PortStep s) noexcept;

struct PortPlan {
  std::string name;
  PortStep step = PortStep::keep;
};

struct BridgePlan {
  std::string name;
  bool added = false;                // not running: made by the reload
  std::vector<PortPlan> ports;       // every wanted port, in the file's order
  std::vector<std::string> removed;  // running ports no longer wanted
  bool mac_settings = false;         // MAC table size or aging: a new table
  bool meters = false;               // the file's meters changed
  bool flows = false;                // the table is set again from the flow lines
  // Served by another poll thread from now on: every port takes that
  // thread's buffers, so every port that stays is reopened.
  bool moves_thread = false;

  [[nodiscard]] bool changes() const noexcept;
};

struct ReloadPlan {
  std::vector<BridgePlan> bridges;           // the wanted bridges, in the wanted order
  std::vector<std::string> bridges_removed;  // running bridges no longer wanted
  // The bridges each wanted poll thread serves (assign_threads).
  std::vector<std::vector<std::string>> threads;
  bool thread_count_changes = false;
  std::vector<std::size_t> cpu_changes;  // poll threads whose CPU pinning changes
  bool log_level = false;
  FlowReload flow_reload = FlowReload::replace;

  // Whether the bridge's table is set from its lines: always when the file
  // is the table (replace), else when they changed.
  [[nodiscard]] bool sets_flows(const BridgePlan& b) const noexcept {
    return b.flows || flow_reload == FlowReload::replace;
  }
  // Bridges come or go: the poll threads stop while the set is swapped.
  [[nodiscard]] bool bridge_set_changes() const noexcept;
  [[nodiscard]] bool empty() const noexcept;
  // One line per change ("br: warp0 retune"), for the log and tests.
  [[nodiscard]] std::string describe() const;
};

// Which bridges each poll thread serves: a thread that names bridges takes
// those, a thread that names none takes every bridge no other names (once).
[[nodiscard]] std::vector<std::vector<std::string>> assign_threads(
    const std::vector<PollThreadSpec>& threads, const std::vector<BridgeConfig>& bridges);

// Whether two ports of `driver` can hold one device at once (a reload can
// open the new one before the old one closes).
[[nodiscard]] bool driver_can_share_device(const PortConfig& p) noexcept;

// `running` is Switch::running_config(): its bridges hold every port that
// runs, those added by ctl included.
[[nodiscard]] ReloadPlan diff(const Config& running, const Config& wanted,
                              FlowReload flows = FlowReload::replace);

}  // namespace sockswitch::control
