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

#include "control/trace_command.h"

namespace sockswitch::control {
namespace {

std::string config(const char* name) {
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
    const nlohmann::json j = trace_json(config(file), ports, c.packet);
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
      trace_json(config("vps-socket.flows"), {"nm-server=1", "warp0=2", "veth102=3"},
                 "in_port=warp0,tcp,tp_dst=443");
  EXPECT_EQ(j.dump(), R"({"actions":["output:veth102"],"cookie":"0x0","match":"tcp,tp_dst=443",)"
                      R"("priority":100,"table":0})");
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
  const int status = trace({config("vps-socket.flows"),
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
