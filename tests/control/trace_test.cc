// tests/control/trace_test.cc: `sockswitch trace` on the seed tables.
//
// Plan: for each seed deployment's flow file, describe a packet of every
// traffic flow the seed document draws, trace it, and check the flow it hits
// and the action the document says that traffic takes. Then the negative
// cases: no match, a bad packet description, resubmit chains.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <fmt/format.h>

#include "control/trace_command.h"

namespace sockswitch::control {
namespace {

std::string trace_config(const char* name) {
  return std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + name;
}

nlohmann::json trace_json(const std::string& file, const std::vector<std::string>& ports,
                          const std::string& packet) {
  std::ostringstream out, err;
  const int status = trace({file, ports, packet, true}, out, err);
  EXPECT_EQ(status, 0) << err.str();
  return nlohmann::json::parse(out.str());
}

struct SeedCase {
  const char* what;
  const char* packet;
  int priority;
  const char* action;  // the first action
};

void expect_paths(const char* file, const std::vector<std::string>& ports,
                  const std::vector<SeedCase>& cases) {
  for (const SeedCase& c : cases) {
    SCOPED_TRACE(c.what);
    const nlohmann::json j = trace_json(trace_config(file), ports, c.packet);
    EXPECT_EQ(j["table"], 0);
    EXPECT_EQ(j["priority"], c.priority) << j.dump();
    ASSERT_FALSE(j["actions"].empty()) << j.dump();
    EXPECT_EQ(j["actions"][0], c.action) << j.dump();
    EXPECT_EQ(j["cookie"], "0x0");
  }
}

TEST(Trace, VpsSocketDocumentedPaths) {
  expect_paths(
      "vps-socket.flows", {"nm-server=1", "warp0=2", "veth102=3"},
      {
          {"user HTTPS to Xray", "in_port=nm-server,tcp,nw_dst=10.2.0.102,tp_dst=443", 100,
           "output:veth102"},
          {"user VMess to Xray", "in_port=nm-server,tcp,tp_dst=8443", 100, "output:veth102"},
          {"Xray to WARP", "in_port=veth102,udp,tp_dst=53", 100, "output:warp0"},
          {"WARP return to Xray", "in_port=warp0,tcp,tp_src=443,tp_dst=40000", 100,
           "output:veth102"},
          {"Netmaker traffic", "in_port=nm-server,udp,tp_dst=51821", 80, "NORMAL"},
          {"default switching", "in_port=nm-server,arp", 80, "NORMAL"},
          // The overlap the design calls out: Xray's own outbound HTTPS
          // goes back to veth102 because the 443 ingress flow was added
          // first.
          {"Xray outbound HTTPS (latent bug)", "in_port=veth102,tcp,tp_dst=443", 100,
           "output:veth102"},
      });
}

TEST(Trace, VpsMatchStringAndJsonShape) {
  const nlohmann::json j =
      trace_json(trace_config("vps-socket.flows"), {"nm-server=1", "warp0=2", "veth102=3"},
                 "in_port=warp0,tcp,tp_dst=443");
  EXPECT_EQ(j["table"], 0);
  EXPECT_EQ(j["priority"], 100);
  EXPECT_EQ(j["match"], "tcp,tp_dst=443");
  EXPECT_EQ(j["actions"], nlohmann::json::array({"output:veth102"}));
  EXPECT_EQ(j["cookie"], "0x0");
  EXPECT_EQ(j["verdict"], "output:veth102") << j.dump();
  ASSERT_EQ(j["outputs"].size(), 1u) << j.dump();
  EXPECT_EQ(j["outputs"][0]["port"], "veth102");
  EXPECT_EQ(j["outputs"][0]["packet"],
            "tcp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_ttl=64,tp_dst=443,"
            "tcp_flags=0x2");
  // lookup, the action, the output
  ASSERT_EQ(j["steps"].size(), 3u) << j.dump();
  EXPECT_EQ(j["steps"][1]["action"], "output:veth102");
}

// The seed's latent bug, as the switch carries it out: Xray's own outbound
// HTTPS wins the tie at priority 100 against the flow meant for it, goes
// out the port it came in on, and is dropped as a reflection.
TEST(Trace, VpsXrayOutboundHttpsIsDroppedAsAReflection) {
  const nlohmann::json j =
      trace_json(trace_config("vps-socket.flows"), {"nm-server=1", "warp0=2", "veth102=3"},
                 "in_port=veth102,tcp,tp_dst=443");
  EXPECT_EQ(j["verdict"],
            "drop: drop.reflect (output to the ingress port without the in_port action)")
      << j.dump();
  EXPECT_TRUE(j["outputs"].empty());
  EXPECT_EQ(j["tied_with"], nlohmann::json::array({"priority=100,in_port=veth102 "
                                                   "actions=output:warp0"}));
}

struct FlowFile {
  explicit FlowFile(const std::string& text)
      : path((std::filesystem::temp_directory_path() /
              ("sockswitch-trace-" + std::to_string(getpid()) + "-" + std::to_string(++count)))
                 .string()) {
    std::ofstream(path) << text;
  }
  ~FlowFile() { std::filesystem::remove(path); }
  std::string path;
  static inline int count = 0;
};

// The old walk looked the next table up with the key as it came: a VLAN
// pushed before the resubmit went unseen.
TEST(Trace, RewritesBeforeAResubmitSteerTheNextLookup) {
  FlowFile f(
      "table=0,priority=5,in_port=a,actions=mod_vlan_vid:5,resubmit(,1)\n"
      "table=1,priority=9,dl_vlan=5,actions=output:b\n"
      "table=1,priority=1,actions=output:c\n");
  const nlohmann::json j = trace_json(f.path, {"a=1", "b=2", "c=3"}, "in_port=a,udp,tp_dst=53");
  EXPECT_EQ(j["verdict"], "output:b") << j.dump();
  ASSERT_EQ(j["resubmits"].size(), 1u);
  EXPECT_EQ(j["resubmits"][0]["match"], "dl_vlan=5");
  EXPECT_EQ(j["outputs"][0]["packet"].get<std::string>().find("udp,dl_vlan=5,"), 0u) << j.dump();
  EXPECT_EQ(j["steps"][2]["changed"]["vlan_tci"], "0x1005") << j.dump();
}

TEST(Trace, NormalFloodsEveryOtherPortOfflineAndCopiesKeepTheirOwnHeaders) {
  FlowFile f("priority=5,udp,actions=NORMAL,mod_tp_dst:99,output:c\n");
  const nlohmann::json j =
      trace_json(f.path, {"a=1", "b=2", "c=3"}, "in_port=a,udp,tp_dst=53,dl_dst=02:00:00:00:00:09");
  EXPECT_EQ(j["verdict"], "output:b,c,c") << j.dump();
  ASSERT_EQ(j["outputs"].size(), 3u);
  EXPECT_NE(j["outputs"][0]["packet"].get<std::string>().find("tp_dst=53"), std::string::npos);
  EXPECT_NE(j["outputs"][2]["packet"].get<std::string>().find("tp_dst=99"), std::string::npos);
}

TEST(Trace, ConntrackContinuesInItsTableAsANewConnection) {
  FlowFile f(
      "table=0,priority=5,tcp,actions=ct(zone=7,table=1)\n"
      "table=1,priority=9,ct_state=+trk+new,tcp,actions=ct(commit,zone=7),output:b\n"
      "table=1,priority=1,actions=drop\n");
  const nlohmann::json j = trace_json(f.path, {"a=1", "b=2"}, "in_port=a,tcp,tp_dst=22");
  EXPECT_EQ(j["verdict"], "output:b") << j.dump();
  EXPECT_EQ(j["steps"][2]["ct"], "ct_state=+new+trk,ct_zone=7") << j.dump();
}

TEST(Trace, TtlAndMetersAndMissesHaveNamedVerdicts) {
  FlowFile f(
      "table=0,priority=5,ip,actions=dec_ttl,output:b\n"
      "table=0,priority=6,udp,actions=resubmit(,4)\n");
  EXPECT_EQ(trace_json(f.path, {"a=1", "b=2"}, "in_port=a,ip,nw_ttl=1")["verdict"],
            "drop: drop.ttl_expired (dec_ttl on a TTL of 0 or 1)");
  EXPECT_EQ(trace_json(f.path, {"a=1", "b=2"}, "in_port=a,ip")["verdict"], "output:b");
  EXPECT_EQ(trace_json(f.path, {"a=1", "b=2"}, "in_port=a,udp")["verdict"],
            "drop: drop.no_match (no flow matched; table miss is drop)");
}

TEST(Trace, AResubmitBombEndsAtTheTotalBound) {
  std::string text;
  for (int t = 0; t < 30; ++t)
    text +=
        fmt::format("table={},priority=1,actions=resubmit(,{}),resubmit(,{})\n", t, t + 1, t + 1);
  FlowFile f(text);
  const nlohmann::json j = trace_json(f.path, {"a=1"}, "in_port=a,udp");
  EXPECT_EQ(j["verdict"].get<std::string>().find("drop: drop.resubmit_total"), 0u) << j["verdict"];
  EXPECT_EQ(j["truncated"], true);
}

TEST(Trace, ADescriptionNoFrameCarriesIsRefusedByName) {
  std::ostringstream out, err;
  // A VLAN ID without the "tagged" bit: no frame has that.
  EXPECT_EQ(trace({trace_config("vps-socket.flows"),
                   {"nm-server=1", "warp0=2", "veth102=3"},
                   "in_port=1,vlan_tci=0x0005",
                   true},
                  out, err),
            1);
  EXPECT_NE(err.str().find("cannot build a packet with vlan_tci=0x5"), std::string::npos)
      << err.str();
}

TEST(Trace, Oo1424ooSocketDocumentedPaths) {
  expect_paths("oo1424oo-socket.flows",
               {"nm-privacy=1", "veth200=2", "veth201=3", "veth202=4", "veth203=5", "veth204=6"},
               {
                   {"from netmaker", "in_port=nm-privacy,tcp,tp_dst=9574", 100, "NORMAL"},
                   {"MCP", "in_port=veth204,tcp,tp_dst=9573", 90, "output:veth200"},
                   {"op-dbus API", "in_port=veth204,tcp,tp_dst=9574", 90, "output:veth201"},
                   {"MCP to Vector DB", "in_port=veth200,tcp,tp_dst=6333", 90, "output:veth202"},
                   {"Redis", "in_port=veth201,tcp,tp_dst=6379", 90, "output:veth203"},
                   {"container responses", "in_port=veth202,tcp,tp_src=6333", 80, "NORMAL"},
                   {"default", "in_port=veth203,arp", 10, "NORMAL"},
               });
}

TEST(Trace, Oo1424ooDualDocumentedPaths) {
  const std::vector<std::string> mesh{"nm-privacy=1", "to-privacy=2", "veth200=3", "veth201=4"};
  expect_paths(
      "oo1424oo-dual-mesh.flows", mesh,
      {
          {"privacy traffic to vmbr0", "in_port=nm-privacy,tcp,nw_dst=10.0.0.102,tp_dst=8080", 100,
           "output:\"to-privacy\""},
          {"privacy ARP to vmbr0", "in_port=nm-privacy,arp,arp_tpa=10.0.0.102", 100,
           "output:\"to-privacy\""},
          {"return to management containers",
           "in_port=nm-privacy,tcp,nw_dst=10.1.0.200,tp_dst=9573", 90, "NORMAL"},
          {"MCP to netmaker", "in_port=veth200,tcp,tp_dst=443", 90, "output:\"nm-privacy\""},
          {"API to netmaker", "in_port=veth201,udp,tp_dst=53", 90, "output:\"nm-privacy\""},
          {"privacy return", "in_port=to-privacy,tcp,tp_src=8080", 80, "output:\"nm-privacy\""},
      });
  expect_paths(
      "oo1424oo-dual-vmbr0.flows", {"from-mesh=1", "warp0=2", "veth100=3", "veth102=4"},
      {
          {"from mesh to xray client", "in_port=from-mesh,tcp,tp_dst=8080", 100, "output:veth102"},
          {"xray client to WARP", "in_port=veth102,udp,tp_dst=2408", 100, "output:warp0"},
          {"WARP return", "in_port=warp0,udp,tp_src=2408", 100, "output:veth102"},
          {"gateway to WARP", "in_port=veth100,tcp,tp_dst=443", 90, "output:warp0"},
      });
}

TEST(Trace, NoMatchGivesNullMatch) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sockswitch-trace-" + std::to_string(getpid())))
          .string();
  std::ofstream(path) << "priority=5,udp,actions=drop\n";
  const nlohmann::json j = trace_json(path, {"a=1"}, "in_port=a,tcp,tp_dst=1");
  EXPECT_TRUE(j["match"].is_null());
  EXPECT_EQ(j["table"], 0);
  std::filesystem::remove(path);
}

TEST(Trace, ResubmitIntoLaterTables) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("sockswitch-trace-r-" + std::to_string(getpid())))
          .string();
  std::ofstream(path) << "table=0,priority=5,ip,actions=resubmit(,1)\n"
                         "table=1,priority=5,ip,nw_dst=10.0.0.0/8,actions=output:b\n";
  const nlohmann::json j = trace_json(path, {"a=1", "b=2"}, "in_port=a,ip,nw_dst=10.1.2.3");
  EXPECT_EQ(j["actions"][0], "resubmit(,1)");
  ASSERT_EQ(j["resubmits"].size(), 1u) << j.dump();
  EXPECT_EQ(j["resubmits"][0]["table"], 1);
  EXPECT_EQ(j["resubmits"][0]["actions"][0], "output:b");
  std::filesystem::remove(path);
}

TEST(Trace, BadPacketIsAnErrorWithPosition) {
  std::ostringstream out, err;
  const int status = trace({trace_config("vps-socket.flows"),
                            {"nm-server=1", "warp0=2", "veth102=3"},
                            "in_port=warp0,tp_dst=443",
                            true},
                           out, err);
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.str().find("tp_dst needs tcp, udp or sctp"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("<packet>:1:15"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace sockswitch::control
