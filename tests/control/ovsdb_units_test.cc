// tests/control/ovsdb_units_test.cc: the OVSDB client's pure parts, without a server.
//
// JsonStream (messages cut from a byte stream at any split), Replica
// (monitor updates, a malformed one changing nothing), OfportAllocator
// (OVS's rotating numbers and their hour of rest) and DatabaseConfig (rows
// to the wanted Config: the bridge's own port, default flows per fail mode,
// what is refused and what is noted, numbers that stay with their rows).
#include <gtest/gtest.h>

#include "control/ovsdb/database_config.h"
#include "control/ovsdb/json_stream.h"
#include "control/ovsdb/ofport_allocator.h"
#include "control/ovsdb/replica.h"
#include "ports/port_driver.h"

namespace sockswitch::control::ovsdb {
namespace {

using Json = nlohmann::json;
using Clock = OfportAllocator::Clock;

TEST(OvsdbJsonStream, MessagesAreCutAtEverySplitIncludingInsideStrings) {
  const std::string wire =
      R"({"id":1,"result":{"a":"}{\"]"}} {"method":"echo","params":[],"id":"x"})"
      "\n"
      R"({"method":"update","params":[null,{"T":{}}],"id":null})";
  for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
    JsonStream s;
    std::vector<Json> got;
    s.feed(std::string_view(wire).substr(0, cut));
    while (auto m = s.next())
      got.push_back(*m);
    s.feed(std::string_view(wire).substr(cut));
    while (auto m = s.next())
      got.push_back(*m);
    ASSERT_EQ(got.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(got[0]["result"]["a"], "}{\"]");
    EXPECT_EQ(got[2]["method"], "update");
  }
}

TEST(OvsdbJsonStream, WhatIsNotAStreamOfObjectsIsAnError) {
  for (const char* bad : {"[1,2]", "42 ", "{\"a\":tru}", "{\"a\":1}}"}) {
    JsonStream s;
    s.feed(bad);
    EXPECT_THROW(
        {
          while (s.next()) {
          }
        },
        JsonStreamError)
        << bad;
  }
  JsonStream big;
  big.feed("{\"a\":\"");
  big.feed(std::string(JsonStream::kMaxMessage, 'x'));
  EXPECT_THROW((void)big.next(), JsonStreamError);
}

TEST(OvsdbReplica, InsertsModifiesDeletesAndAMalformedUpdateChangesNothing) {
  Replica r;
  r.apply(Json::parse(R"({"Interface":{"u1":{"new":{"name":"a","ofport":1}},
                                       "u2":{"new":{"name":"b"}}}})"));
  r.apply(Json::parse(R"({"Interface":{"u1":{"old":{"ofport":1},"new":{"name":"a","ofport":2}},
                                       "u2":{"old":{"name":"b"}}}})"));
  ASSERT_NE(r.row("Interface", "u1"), nullptr);
  EXPECT_EQ((*r.row("Interface", "u1"))["ofport"], 2);
  EXPECT_EQ(r.row("Interface", "u2"), nullptr);
  for (const char* bad : {R"([1])", R"({"Interface":[1]})", R"({"Interface":{"u1":3}})",
                          R"({"Interface":{"u3":{"new":{}},"u1":{"new":7}}})"})
    EXPECT_THROW(r.apply(Json::parse(bad)), std::invalid_argument) << bad;
  EXPECT_EQ(r.table("Interface").size(), 1u);  // u3 was not half-applied
}

TEST(OvsdbOfportAllocator, RotatesAndRestsReleasedNumbersForAnHour) {
  OfportAllocator a;
  const auto t0 = Clock::now();
  EXPECT_EQ(a.allocate(t0), 1u);
  EXPECT_EQ(a.allocate(t0), 2u);
  a.release(1, t0);
  EXPECT_EQ(a.allocate(t0), 3u);  // the next, not the one just freed
  EXPECT_EQ(a.take(5), 5u);
  EXPECT_EQ(a.take(5), std::nullopt);
  EXPECT_EQ(a.allocate(t0), 4u);
  EXPECT_EQ(a.allocate(t0), 6u);
  // Wrapping around, a number released over an hour ago is free again.
  OfportAllocator w;
  for (std::uint32_t i = 1; i < OfportAllocator::kAutomaticLimit; ++i)
    ASSERT_EQ(w.allocate(t0), i);
  w.release(7, t0);
  w.release(9, t0 - std::chrono::hours(2));
  EXPECT_EQ(w.allocate(t0), 9u);
  EXPECT_EQ(w.allocate(t0), 7u);  // all busy or resting: the longest resting
  EXPECT_EQ(w.allocate(t0), std::nullopt);
}

// A database as ovs-vsctl leaves it: one bridge with its own internal
// port, and whatever ports `extra` adds (rows as monitor sends them).
Replica database(const std::string& fail_mode, const Json& extra_ports = Json::object(),
                 const Json& extra_ifaces = Json::object()) {
  Json ports = Json::array({Json::array({"uuid", "p-br"})});
  for (const auto& [uuid, row] : extra_ports.items())
    ports.push_back(Json::array({"uuid", uuid}));
  Json updates = {
      {"Open_vSwitch",
       {{"root", {{"new", {{"bridges", Json::array({"uuid", "b1"})}, {"next_cfg", 7}}}}}}},
      {"Bridge",
       {{"b1",
         {{"new",
           {{"name", "socket"},
            {"ports", Json::array({"set", ports})},
            {"fail_mode",
             fail_mode.empty() ? Json::array({"set", Json::array()}) : Json(fail_mode)},
            {"datapath_type", "system"}}}}}}},
      {"Port",
       {{"p-br", {{"new", {{"name", "socket"}, {"interfaces", Json::array({"uuid", "i-br"})}}}}}}},
      {"Interface", {{"i-br", {{"new", {{"name", "socket"}, {"type", "internal"}}}}}}},
  };
  for (const auto& [uuid, row] : extra_ports.items())
    updates["Port"][uuid] = {{"new", row}};
  for (const auto& [uuid, row] : extra_ifaces.items())
    updates["Interface"][uuid] = {{"new", row}};
  Replica r;
  r.apply(updates);
  return r;
}

Json port_row(const std::string& name, const std::string& iface, Json extra = Json::object()) {
  Json row = {{"name", name}, {"interfaces", Json::array({"uuid", iface})}};
  row.update(extra);
  return row;
}

const InterfaceOutcome& outcome(const DatabaseSnapshot& s, const std::string& name) {
  for (const InterfaceOutcome& i : s.interfaces)
    if (i.name == name) return i;
  throw std::runtime_error("no interface " + name);
}

TEST(OvsdbDatabaseConfig, TheBridgesOwnPortIsLocalAndDefaultFlowsFollowTheFailMode) {
  DatabaseConfig m;
  const DatabaseSnapshot s = m.build(database(""), Config{}, Config{}, Clock::now());
  ASSERT_EQ(s.wanted.bridges.size(), 1u);
  const BridgeConfig& b = s.wanted.bridges[0];
  EXPECT_TRUE(b.from_database);
  ASSERT_EQ(b.ports.size(), 1u);
  EXPECT_EQ(b.ports[0].driver, "internal");
  EXPECT_EQ(b.ports[0].ofport, flowtable::kPortLocal);
  ASSERT_EQ(b.flows.size(), 1u);
  EXPECT_EQ(b.flows[0].text, "priority=0,actions=NORMAL");
  EXPECT_EQ(s.next_cfg, 7);
  EXPECT_EQ(s.bridges[0].datapath_id.size(), 16u);

  EXPECT_TRUE(s.notes.empty());
  Replica waiting = database("");
  waiting.apply(
      {{"Open_vSwitch",
        {{"root",
          {{"new",
            {{"bridges", Json::array({"uuid", "b1"})},
             {"other_config", Json::array({"map", Json::array({Json::array(
                                                      {"flow-restore-wait", "true"})})})}}}}}}}});
  EXPECT_EQ(DatabaseConfig().build(waiting, Config{}, Config{}, Clock::now()).notes.size(), 1u)
      << "flow-restore-wait is said to be not carried out";

  DatabaseConfig secure;
  const DatabaseSnapshot t = secure.build(database("secure"), Config{}, Config{}, Clock::now());
  EXPECT_TRUE(t.wanted.bridges[0].flows.empty());
  EXPECT_NE(t.wanted.bridges[0].flows_basis, b.flows_basis);  // a change flushes, as OVS
}

TEST(OvsdbDatabaseConfig, RefusedAndNotedSettingsAreNamedNeverIgnored) {
  const Json ports = {
      {"p1", port_row("c1", "i1", {{"tag", 10}, {"vlan_mode", "dot1q-tunnel"}})},
      {"p2", port_row("vx", "i2")},
      {"p3", port_row("c3", "i3", {{"qos", Json::array({"uuid", "q"})}})},
      {"p4", port_row("c4", "i4")},
      {"p5", port_row("c5", "i5", {{"tag", 10}, {"trunks", Json::array({"set", {20, 30}})}})}};
  const Json ifaces = {
      {"i1", {{"name", "c1"}}},
      {"i5", {{"name", "c5"}}},
      {"i2", {{"name", "vx"}, {"type", "vxlan"}}},
      {"i3", {{"name", "c3"}}},
      {"i4",
       {{"name", "c4"},
        {"options", Json::array({"map", Json::array({Json::array({"x", "1"})})})}}}};
  DatabaseConfig m;
  const DatabaseSnapshot s = m.build(database("", ports, ifaces), Config{}, Config{}, Clock::now());
  EXPECT_NE(outcome(s, "c1").error.find("dot1q-tunnel (802.1ad QinQ) is not carried out"),
            std::string::npos);
  // A tag with trunks but no vlan_mode: an access port, the trunks ignored
  // as OVS ignores them, and said so.
  EXPECT_EQ(outcome(s, "c5").error, "");
  EXPECT_NE(
      outcome(s, "c5").status.at("vlan").find("'trunks' would be ignored (as Open vSwitch does)"),
      std::string::npos);
  EXPECT_NE(outcome(s, "vx").error.find("'vxlan' is not supported"), std::string::npos);
  EXPECT_EQ(outcome(s, "c3").error, "");
  EXPECT_EQ(outcome(s, "c3").status.at("qos"), "not supported by sockswitch");
  EXPECT_NE(outcome(s, "c4").error.find("options:x"), std::string::npos);
  ASSERT_EQ(s.wanted.bridges[0].ports.size(), 3u);  // the bridge's own, c3 and c5
  for (const PortConfig& p : s.wanted.bridges[0].ports)
    if (p.name == "c5") {
      EXPECT_EQ(dataplane::PortVlan(p.vlan).mode(), dataplane::VlanMode::access);
    }
}

// Interface types and options come from the port-driver registry and are
// read and checked as `ctl add-port` reads and checks its own.
TEST(OvsdbDatabaseConfig, TypesAndOptionsAreTheDriversOwnAndCheckedAsCtlChecksThem) {
  auto options = [](std::initializer_list<std::pair<const char*, const char*>> kv) {
    Json pairs = Json::array();
    for (const auto& [k, v] : kv)
      pairs.push_back(Json::array({k, v}));
    return Json::array({"map", pairs});
  };
  const Json ports = {{"p1", port_row("x1", "i1")}, {"p2", port_row("x2", "i2")},
                      {"p3", port_row("x3", "i3")}, {"p4", port_row("x4", "i4")},
                      {"p5", port_row("d1", "i5")}, {"p6", port_row("w1", "i6")},
                      {"p7", port_row("t1", "i7")}};
  const Json ifaces = {
      {"i1", {{"name", "x1"}, {"type", "afxdp"}, {"options", options({{"n_rxq", "4"}})}}},
      {"i2", {{"name", "x2"}, {"type", "afxdp-nonpmd"}, {"options", options({{"n_rxq", "99"}})}}},
      {"i3", {{"name", "x3"}, {"type", "afxdp"}, {"options", options({{"n_rxq", "two"}})}}},
      {"i4", {{"name", "x4"}, {"type", "afxdp"}, {"options", options({{"wg_config", "/w"}})}}},
      {"i5", {{"name", "d1"}, {"type", "dpdk"}}},
      {"i6", {{"name", "w1"}, {"type", "wireguard"}, {"options", options({{"wg_config", "/w"}})}}},
      {"i7", {{"name", "t1"}, {"type", "tap"}}}};
  const DatabaseSnapshot s =
      DatabaseConfig().build(database("", ports, ifaces), Config{}, Config{}, Clock::now());
  auto port = [&](const std::string& name) -> const PortConfig& {
    for (const PortConfig& p : s.wanted.bridges.at(0).ports)
      if (p.name == name) return p;
    throw std::runtime_error("no port " + name);
  };
  EXPECT_EQ(outcome(s, "x1").error, "");
  EXPECT_EQ(port("x1").driver, "af_xdp");
  EXPECT_EQ(port("x1").queues, 4);
  EXPECT_EQ(outcome(s, "x2").error, "af_xdp port 'x2' has at most 16 queues");
  EXPECT_EQ(outcome(s, "x3").error, "options:n_rxq=two: expected a whole number from 1 to 1024");
  EXPECT_EQ(outcome(s, "x4").error,
            "options:wg_config is not carried out by sockswitch for type 'afxdp'");
  EXPECT_EQ(outcome(s, "d1").error, "a dpdk interface needs options:dpdk-devargs");
  EXPECT_EQ(outcome(s, "w1").error, "");
  EXPECT_EQ(port("w1").driver, "wireguard");
  EXPECT_EQ(port("w1").wg_config, "/w");
  EXPECT_EQ(port("t1").driver, "tap");
  // Every database key names the option it stands for, both ways.
  for (const ports::PortDriver& d : ports::port_drivers())
    for (const std::string_view type : d.ovsdb_types)
      if (!type.empty()) {
        EXPECT_EQ(ports::find_ovsdb_port_driver(type), &d) << type;
      }
  for (std::size_t i = 0; i <= static_cast<std::size_t>(ports::PortOption::wg_config); ++i) {
    const auto o = static_cast<ports::PortOption>(i);
    ports::PortOption back{};
    if (!ports::ovsdb_option_key(o).empty()) {
      ASSERT_TRUE(ports::parse_ovsdb_option_key(ports::ovsdb_option_key(o), back));
      EXPECT_EQ(back, o);
    }
  }
  EXPECT_EQ(ports::find_ovsdb_port_driver(""), ports::find_port_driver("auto"));
}

TEST(OvsdbDatabaseConfig, NumbersStayWithTheirRowsAndARequestIsHonoured) {
  DatabaseConfig m;
  const Json two = {{"p1", port_row("c1", "i1")}, {"p2", port_row("c2", "i2")}};
  const Json ifaces = {{"i1", {{"name", "c1"}}}, {"i2", {{"name", "c2"}}}};
  DatabaseSnapshot s = m.build(database("", two, ifaces), Config{}, Config{}, Clock::now());
  const auto n1 = outcome(s, "c1").ofport, n2 = outcome(s, "c2").ofport;
  ASSERT_TRUE(n1 && n2);
  EXPECT_NE(*n1, *n2);
  s = m.build(database("", two, ifaces), Config{}, Config{}, Clock::now());
  EXPECT_EQ(outcome(s, "c1").ofport, n1);
  EXPECT_EQ(outcome(s, "c2").ofport, n2);
  // A row that asks for a number gets it; a fresh mapper (a restart) takes
  // the number the row was given before.
  const Json asked = {{"i1", {{"name", "c1"}, {"ofport_request", 40}}},
                      {"i2", {{"name", "c2"}, {"ofport", 17}}}};
  DatabaseConfig restarted;
  s = restarted.build(database("", two, asked), Config{}, Config{}, Clock::now());
  EXPECT_EQ(outcome(s, "c1").ofport, 40u);
  EXPECT_EQ(outcome(s, "c2").ofport, 17u);
}

TEST(OvsdbDatabaseConfig, ABridgeTheFileAlsoHasIsRefusedAndTheFilesFlowsFollowTheRows) {
  Config file = parse_config(
      "ovsdb = \"unix:/nonexistent\"\n"
      "[[bridge]]\nname = \"socket\"\n"
      "flow = [\"priority=10,in_port=c1,actions=output:LOCAL\"]\n",
      "t.toml");
  ASSERT_EQ(file.database_flows.size(), 1u);
  const Json ports = {{"p1", port_row("c1", "i1")}};
  const Json ifaces = {{"i1", {{"name", "c1"}}}};
  DatabaseConfig m;
  DatabaseSnapshot s = m.build(database("", ports, ifaces), file, Config{}, Clock::now());
  ASSERT_EQ(s.wanted.bridges.size(), 1u);
  ASSERT_EQ(s.wanted.bridges[0].flows.size(), 1u);  // the file's, not OVS's default
  EXPECT_EQ(s.wanted.bridges[0].flows[0].rule.priority, 10);
  // Without c1 the file's flow cannot name it: noted, and the running flows stay.
  DatabaseSnapshot without = m.build(database(""), file, s.wanted, Clock::now());
  EXPECT_FALSE(without.notes.empty());
  EXPECT_EQ(without.wanted.bridges[0].flows.size(), 1u);

  Config both = parse_config(
      "[[bridge]]\nname = \"socket\"\n[[bridge.port]]\nname = \"x1\"\ndriver = \"pcap\"\n",
      "t.toml");
  DatabaseConfig n;
  s = n.build(database(""), both, Config{}, Clock::now());
  EXPECT_NE(s.bridges[0].error.find("one source per bridge"), std::string::npos);
  EXPECT_EQ(s.wanted.bridges.size(), 1u);  // only the file's
}

}  // namespace
}  // namespace sockswitch::control::ovsdb
