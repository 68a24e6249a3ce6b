// tests/flowtable/meter_test.cc: meters in ovs-ofctl's syntax, read and written back.
//
// Plan: each setting of add-meter's syntax reads as OVS reads it and prints
// back in the same syntax; every mistake is located at its word; the
// meter:N action is one, first, and names a meter id.
#include <gtest/gtest.h>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "flowtable/meter.h"

namespace sockswitch::flowtable {
namespace {

std::string error_of(const std::string& text) {
  try {
    (void)parse_meter(text, {"m", 1, 1});
  } catch (const FlowError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Meter, ReadsOvsOfctlSyntaxAndPrintsItBack) {
  const MeterConfig m =
      parse_meter("meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20");
  EXPECT_EQ(m.id, 1u);
  EXPECT_EQ(m.unit, MeterUnit::pktps);
  EXPECT_TRUE(m.burst);
  EXPECT_TRUE(m.stats);
  ASSERT_EQ(m.bands.size(), 1u);
  EXPECT_EQ(m.bands[0], (MeterBand{100, 20}));
  EXPECT_EQ(format_meter(m), "meter=1,pktps,burst,stats,bands=type=drop,rate=100,burst_size=20");

  const MeterConfig k = parse_meter("meter=7 kbps band=type=drop,rate=1000 type=drop,rate=5000");
  EXPECT_EQ(k.unit, MeterUnit::kbps);
  EXPECT_EQ(k.bands.size(), 2u);
  EXPECT_EQ(format_meter(k), "meter=7,kbps,bands=type=drop,rate=1000,type=drop,rate=5000");
  EXPECT_EQ(parse_meter(format_meter(k)), k);
  EXPECT_EQ(parse_meter("meter=2,bands=type=drop,rate=1").unit, MeterUnit::kbps);  // OVS's default
}

TEST(Meter, MistakesAreLocatedAtTheirWord) {
  EXPECT_EQ(error_of("meter=1,pktps,bands=type=dscp_remark,rate=1,prec_level=1"),
            "m:1:15: error: dscp_remark bands are not supported (only drop, as OVS's userspace "
            "meters) (at 'bands=type=dscp_remark')");
  EXPECT_EQ(error_of("meter=0,bands=type=drop,rate=1"),
            "m:1:1: error: 0 is out of range 1..4294901760 (at 'meter=0')");
  EXPECT_EQ(error_of("meter=1,kbps,pktps,bands=type=drop,rate=1"),
            "m:1:14: error: give one of kbps and pktps (at 'pktps')");
  EXPECT_EQ(error_of("meter=1,bands=rate=5"),
            "m:1:9: error: a band starts with type=drop (at 'bands=rate=5')");
  EXPECT_EQ(error_of("meter=1,bands=type=drop,rate=x"),
            "m:1:25: error: 'x' is not a number (at 'rate=x')");
  EXPECT_NE(error_of("meter=1,pktps").find("a meter needs bands="), std::string::npos);
  EXPECT_NE(error_of("pktps,bands=type=drop,rate=1").find("a meter needs meter=ID"),
            std::string::npos);
  EXPECT_NE(error_of("meter=1,bands=type=drop,burst_size=3").find("each band needs a rate"),
            std::string::npos);
  EXPECT_NE(
      error_of("meter=1,colour,bands=type=drop,rate=1").find("unknown meter setting 'colour'"),
      std::string::npos);
  EXPECT_EQ(parse_meter_selector("meter=all"), 0u);
  EXPECT_EQ(parse_meter_selector(""), 0u);
  EXPECT_EQ(parse_meter_selector("meter=5"), 5u);
  EXPECT_THROW((void)parse_meter_selector("5"), FlowError);
}

TEST(Meter, TheMeterActionIsOneAndFirst) {
  PortMap ports;
  ports.set_auto_number(true);
  const FlowRule r =
      parse_flow("table=0,priority=480,icmp,actions=meter:1,resubmit(,10)", ports, FlowSyntax::add);
  EXPECT_EQ(format_flow(r, ports), "priority=480,icmp actions=meter:1,resubmit(,10)");
  try {
    (void)parse_flow("icmp,actions=output:1,meter:1", ports, FlowSyntax::add);
    ADD_FAILURE() << "meter after an output was accepted";
  } catch (const FlowError& e) {
    EXPECT_EQ(e.message(), "meter must be the first action (and the only meter)");
    EXPECT_EQ(e.token(), "meter:1");
  }
  EXPECT_THROW((void)parse_flow("actions=meter:0", ports, FlowSyntax::add), FlowError);
}

}  // namespace
}  // namespace sockswitch::flowtable
