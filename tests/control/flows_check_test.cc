// tests/control/flows_check_test.cc: `sockswitch flows check` on the seed
// deployments and on broken files.
//
// Plan: run the command on each shipped flow file and on the seed tables as
// written; verify the table printed, the warnings the design calls for
// (the VPS overlap, seed 001's shadowed return flow), and that a file with
// errors is rejected with positions and nothing printed as installed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/flows_check_command.h"

namespace sockswitch::control {
namespace {

struct CheckRun {
  int status;
  std::string out, err;
};

CheckRun check(std::vector<std::string> files, std::vector<std::string> ports) {
  std::ostringstream out, err;
  const int status = flows_check({std::move(files), std::move(ports)}, out, err);
  return {status, out.str(), err.str()};
}

std::string checked_config(const char* name) {
  return std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + name;
}

class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("sockswitch-flows-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) +
               ".flows")) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

const std::vector<std::string> kVpsPorts{"nm-server=1", "warp0=2", "veth102=3"};

TEST(FlowsCheck, VpsTablePrintsCanonicallyAndWarnsAboutXrayHttps) {
  const CheckRun r = check({checked_config("vps-socket.flows")}, kVpsPorts);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(" priority=100,tcp,tp_dst=443 actions=output:veth102\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" priority=10 actions=NORMAL\n"), std::string::npos) << r.out;
  // Exactly one overlap: the 443 ingress flow and the Xray egress flow, with
  // Xray's own outbound HTTPS as the witness.
  EXPECT_NE(r.out.find("configs/vps-socket.flows:9:1: warning: overlaps line 5 at equal priority "
                       "100; a packet both match: tcp,in_port=veth102,tp_dst=443"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("6 flows, 4 overlap warnings, 0 shadowed flows"), std::string::npos)
      << r.out;
}

TEST(FlowsCheck, DualMeshAsWrittenInNixHidesTheReturnFlow) {
  // Seed 001's mesh table as its Nix config writes it (privacy match dropped).
  TempFile file(
      "priority=100,in_port=nm-privacy,actions=output:to-privacy\n"
      "priority=90,in_port=veth200,actions=output:nm-privacy\n"
      "priority=90,in_port=veth201,actions=output:nm-privacy\n"
      "priority=90,in_port=nm-privacy,actions=normal\n"
      "priority=80,in_port=to-privacy,actions=output:nm-privacy\n"
      "priority=10,actions=normal\n");
  const CheckRun r =
      check({file.path()}, {"nm-privacy=1", "to-privacy=2", "veth200=3", "veth201=4"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(":4:1: warning: flow can never match: line 1 wins for every packet it "
                       "matches"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 shadowed flows"), std::string::npos) << r.out;
}

TEST(FlowsCheck, ShippedDualMeshHasNoShadow) {
  const CheckRun r = check({checked_config("oo1424oo-dual-mesh.flows")},
                           {"nm-privacy=1", "to-privacy=2", "veth200=3", "veth201=4"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("0 shadowed flows"), std::string::npos) << r.out;
}

TEST(FlowsCheck, ShadowByTheUnionOfSeveralFlows) {
  TempFile file(
      "priority=20,tcp,actions=drop\n"
      "priority=20,udp,actions=drop\n"
      "priority=20,ip,nw_proto=1,actions=drop\n"
      "priority=20,ip,ip_fragment=no,actions=drop\n"
      "priority=10,udp,tp_dst=53,actions=normal\n");
  const CheckRun r = check({file.path()}, {});
  // nw_frag is not a field: the whole file is rejected, with the position.
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(":4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ip_fragment"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  TempFile ok(
      "priority=20,udp,tp_dst=0/0x8000,actions=drop\n"
      "priority=20,udp,tp_dst=0x8000/0x8000,actions=drop\n"
      "priority=10,udp,actions=normal\n");
  const CheckRun shadowed = check({ok.path()}, {});
  ASSERT_EQ(shadowed.status, 0) << shadowed.err;
  EXPECT_NE(
      shadowed.out.find(":3:1: warning: flow can never match: the flows on lines 1 2 together"),
      std::string::npos)
      << shadowed.out;
}

// op-dbus's security table as its plugin writes it: OVS 3.1 drops
// everything with it, and flows check says why, line by line.
TEST(FlowsCheck, OpDbusSecurityTableAsWrittenNamesEachDefect) {
  const TempFile f(
      "table=0,priority=480,icmp,actions=meter:1,resubmit(,10)\n"
      "table=0,priority=480,udp,tp_dst=53,actions=meter:2,resubmit(,10)\n"
      "table=0,priority=470,ip,actions=ct(table=10)\n"
      "table=10,priority=500,ct_state=-trk,actions=drop\n"
      "table=10,priority=500,ct_state=+inv,actions=drop\n"
      "table=10,priority=400,ct_state=+est,actions=resubmit(,20)\n"
      "table=10,priority=390,ct_state=+new,actions=resubmit(,20)\n"
      "table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)\n");
  const CheckRun r = check({f.path()}, {});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string p = f.path();
  EXPECT_NE(r.out.find(p + ":8:1: warning: sends packets to table 30, which has no flow"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(p + ":4:1: warning: untracked packets (no ct() on their way) reach table "
                           "10 and are taken as -trk; a packet so: icmp\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("a packet so: udp,tp_dst=53\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  <- drops it\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(p + ":6:1: warning: no flow commits a connection (ct(commit))"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("line 3: table=0,priority=470,ip,actions=ct(table=10)  <- tracks without "
                       "committing"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("8 flows, 1 overlap warnings, 0 shadowed flows, 4 path warnings"),
            std::string::npos)
      << r.out;

  // Completed (a commit from the allowed side, an output stage, -trk only
  // for what was meant to be tracked): nothing left to say about its paths.
  const TempFile done(
      "table=0,priority=500,arp,actions=normal\n"
      "table=0,priority=470,ip,actions=ct(table=10)\n"
      "table=10,priority=500,ct_state=+inv,actions=drop\n"
      "table=10,priority=400,ct_state=+est,actions=resubmit(,20)\n"
      "table=10,priority=390,ct_state=+new,ip,in_port=1,actions=ct(commit),resubmit(,20)\n"
      "table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)\n"
      "table=30,priority=10,actions=normal\n");
  const CheckRun ok = check({done.path()}, {});
  EXPECT_NE(ok.out.find(", 0 path warnings"), std::string::npos) << ok.out;
}

TEST(FlowsCheck, UnknownPortIsAnErrorWhenAMapIsGiven) {
  TempFile file("priority=100,in_port=veth999,actions=normal\n");
  const CheckRun r = check({file.path()}, kVpsPorts);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(":1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("veth999"), std::string::npos) << r.err;
}

TEST(FlowsCheck, ReplacedFlowIsReported) {
  TempFile file(
      "priority=5,ip,actions=drop\n"
      "priority=5,ip,actions=normal\n");
  const CheckRun r = check({file.path()}, {});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(":2:1: warning: replaces the flow on line 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 flows"), std::string::npos) << r.out;
}

TEST(FlowsCheck, MissingFileAndBadPortArgument) {
  EXPECT_EQ(check({"/nonexistent/x.flows"}, {}).status, 1);
  const CheckRun bad = check({checked_config("vps-socket.flows")}, {"warp0"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("NAME=NUMBER"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace sockswitch::control
