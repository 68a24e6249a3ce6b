// Plan: the request and response texts below were captured from Debian's
// wireguard-tools (`wg setconf`, `wg set`) talking to a listening socket and
// from wireguard-go answering get=1 in a network namespace. Parse and format
// them both ways, then check every malformed form gets the errno
// wireguard-go answers and no change.
#include "ports/wireguard/uapi_protocol.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace sockswitch::wireguard {
namespace {

constexpr std::string_view kSetconfFile =
    "[Interface]\n"
    "PrivateKey = OM8NGMd4moqYYN39qZ7pcmgVORXXRq1Vu0nuGgLFwEA=\n"
    "ListenPort = 51820\n"
    "FwMark = 0x10\n"
    "\n"
    "[Peer]\n"
    "PublicKey = A1+4fgNoFOzczY4QcQULFhuP8FjjlAxapb9ETfvYFW4=\n"
    "PresharedKey = PgnOyOowZierFmg1Nqx1PoBAGNfLCX6LvaNL8iBhERo=\n"
    "Endpoint = 127.0.0.1:2408\n"
    "AllowedIPs = 0.0.0.0/0, ::/0\n"
    "PersistentKeepalive = 25\n"
    "\n"
    "[Peer]\n"
    "PublicKey = oVBrQw5aoRnJwKZsJXb4jccfA8xsqKNs+N31J4zPjlQ=\n"
    "AllowedIPs = 10.1.2.3/8\n"
    "Endpoint = [fe80::1%lo]:51820\n";

// `wg setconf wgcfgcap0 <the file above>`, byte for byte, except that wg
// sent allowed_ip=10.1.2.3/8 and left the masking to the daemon.
constexpr std::string_view kSetconfRequest =
    "set=1\n"
    "private_key=38cf0d18c7789a8a9860ddfda99ee97268153915d746ad55bb49ee1a02c5c040\n"
    "listen_port=51820\n"
    "fwmark=16\n"
    "replace_peers=true\n"
    "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n"
    "preshared_key=3e09cec8ea306627ab16683536ac753e804018d7cb097e8bbda34bf22061111a\n"
    "endpoint=127.0.0.1:2408\n"
    "persistent_keepalive_interval=25\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=0.0.0.0/0\n"
    "allowed_ip=::/0\n"
    "public_key=a1506b430e5aa119c9c0a66c2576f88dc71f03cc6ca8a36cf8ddf5278ccf8e54\n"
    "endpoint=[fe80::1%lo]:51820\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.0.0.0/8\n"
    "\n";

// `wg set wgcfgcap0 listen-port 0 fwmark off private-key /dev/null peer P2
//  persistent-keepalive off preshared-key /dev/null
//  allowed-ips 10.0.0.1/32,fd00::/64 endpoint 1.2.3.4:5`
constexpr std::string_view kSetRequest =
    "set=1\n"
    "private_key=0000000000000000000000000000000000000000000000000000000000000000\n"
    "listen_port=0\n"
    "fwmark=0\n"
    "public_key=a1506b430e5aa119c9c0a66c2576f88dc71f03cc6ca8a36cf8ddf5278ccf8e54\n"
    "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
    "endpoint=1.2.3.4:5\n"
    "persistent_keepalive_interval=0\n"
    "replace_allowed_ips=true\n"
    "allowed_ip=10.0.0.1/32\n"
    "allowed_ip=fd00::/64\n"
    "\n";

// `wg set wgcfgcap0 peer P1 remove`
constexpr std::string_view kRemoveRequest =
    "set=1\n"
    "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n"
    "remove=true\n"
    "\n";

// wireguard-go's answer to get=1 after the setconf above and
// `wg set wgcfgcap1 peer P2 allowed-ips 10.1.2.3/8,fd00::/64,10.9.0.0/16
//  endpoint [2001:db8::5]:51820`.
constexpr std::string_view kGetResponse =
    "private_key=38cf0d18c7789a8a9860ddfda99ee97268153915d746ad55bb49ee1a02c5c040\n"
    "listen_port=51820\n"
    "fwmark=16\n"
    "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n"
    "preshared_key=3e09cec8ea306627ab16683536ac753e804018d7cb097e8bbda34bf22061111a\n"
    "protocol_version=1\n"
    "endpoint=127.0.0.1:2408\n"
    "last_handshake_time_sec=0\n"
    "last_handshake_time_nsec=0\n"
    "tx_bytes=0\n"
    "rx_bytes=0\n"
    "persistent_keepalive_interval=25\n"
    "allowed_ip=0.0.0.0/0\n"
    "allowed_ip=::/0\n"
    "public_key=a1506b430e5aa119c9c0a66c2576f88dc71f03cc6ca8a36cf8ddf5278ccf8e54\n"
    "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
    "protocol_version=1\n"
    "endpoint=[2001:db8::5]:51820\n"
    "last_handshake_time_sec=0\n"
    "last_handshake_time_nsec=0\n"
    "tx_bytes=0\n"
    "rx_bytes=0\n"
    "persistent_keepalive_interval=0\n"
    "allowed_ip=10.0.0.0/8\n"
    "allowed_ip=fd00::/64\n"
    "allowed_ip=10.9.0.0/16\n"
    "errno=0\n"
    "\n";

PublicKey hex(std::string_view text) {
  return *key_from_hex(text);
}
IpPrefix prefix(const char* text) {
  return *IpPrefix::parse(text);
}

DeviceChange parsed(std::string_view request) {
  auto r = parse_set_request(request);
  if (auto* e = std::get_if<UapiError>(&r)) ADD_FAILURE() << e->message;
  return std::get<DeviceChange>(std::move(r));
}

TEST(UapiProtocol, FileBecomesTheRequestWgSetconfSends) {
  const WgConfig config = parse_wg_config(kSetconfFile, "wgcfgcap0.conf");
  EXPECT_EQ(format_set_request(to_device_change(config)), kSetconfRequest);
}

TEST(UapiProtocol, FileWithoutDeviceValuesZeroesThemAsWgSetconfDoes) {
  const WgConfig config = parse_wg_config(
      "[Interface]\n\n[Peer]\nPublicKey = oVBrQw5aoRnJwKZsJXb4jccfA8xsqKNs+N31J4zPjlQ=\n", "min");
  // Captured from `wg setconf` with this file.
  EXPECT_EQ(format_set_request(to_device_change(config)),
            "set=1\n"
            "private_key=0000000000000000000000000000000000000000000000000000000000000000\n"
            "listen_port=0\n"
            "fwmark=0\n"
            "replace_peers=true\n"
            "public_key=a1506b430e5aa119c9c0a66c2576f88dc71f03cc6ca8a36cf8ddf5278ccf8e54\n"
            "replace_allowed_ips=true\n"
            "\n");
}

TEST(UapiProtocol, ParsesWgSetconfRequest) {
  const DeviceChange c = parsed(kSetconfRequest);
  ASSERT_TRUE(c.private_key);
  EXPECT_EQ(to_hex(c.private_key->span()),
            "38cf0d18c7789a8a9860ddfda99ee97268153915d746ad55bb49ee1a02c5c040");
  EXPECT_EQ(c.listen_port, 51820);
  EXPECT_EQ(c.fwmark, 16u);
  EXPECT_TRUE(c.replace_peers);
  ASSERT_EQ(c.peers.size(), 2u);
  const PeerChange& a = c.peers[0];
  EXPECT_EQ(a.public_key, hex("035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e"));
  ASSERT_TRUE(a.preshared_key);
  EXPECT_FALSE(a.preshared_key->is_zero());
  EXPECT_EQ(a.endpoint->to_string(), "127.0.0.1:2408");
  EXPECT_EQ(a.persistent_keepalive_interval, 25);
  EXPECT_TRUE(a.replace_allowed_ips);
  EXPECT_EQ(a.allowed_ips, (std::vector<IpPrefix>{prefix("0.0.0.0/0"), prefix("::/0")}));
  EXPECT_FALSE(a.remove);
  EXPECT_FALSE(a.update_only);
  const PeerChange& b = c.peers[1];
  EXPECT_FALSE(b.preshared_key);
  EXPECT_FALSE(b.persistent_keepalive_interval);
  EXPECT_EQ(b.endpoint->to_string(), "[fe80::1%lo]:51820");
  EXPECT_NE(b.endpoint->scope_id, 0u);
}

TEST(UapiProtocol, ParsesWgSetWithRemovalsAsZeroKeys) {
  const DeviceChange c = parsed(kSetRequest);
  ASSERT_TRUE(c.private_key);
  EXPECT_TRUE(c.private_key->is_zero());
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.fwmark, 0u);
  EXPECT_FALSE(c.replace_peers);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_TRUE(c.peers[0].preshared_key->is_zero());
  EXPECT_EQ(c.peers[0].persistent_keepalive_interval, 0);
  EXPECT_EQ(c.peers[0].allowed_ips,
            (std::vector<IpPrefix>{prefix("10.0.0.1/32"), prefix("fd00::/64")}));
  const DeviceChange r = parsed(kRemoveRequest);
  EXPECT_FALSE(r.private_key);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_TRUE(r.peers[0].remove);
}

TEST(UapiProtocol, RequestsRoundTrip) {
  for (std::string_view request : {kSetconfRequest, kSetRequest, kRemoveRequest})
    EXPECT_EQ(format_set_request(parsed(request)), request);
  const std::string every =
      "set=1\n"
      "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n"
      "update_only=true\n"
      "endpoint=[2001:db8::1]:443\n"
      "allowed_ip=192.168.0.0/16\n"
      "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n"
      "remove=true\n"
      "\n";
  EXPECT_EQ(format_set_request(parsed(every)), every);
}

TEST(UapiProtocol, AcceptsProtocolVersionUppercaseHexAndMasksHostBits) {
  const DeviceChange c = parsed(
      "set=1\n"
      "public_key=035FB87E036814ECDCCD8E1071050B161B8FF058E3940C5AA5BF444DFBD8156E\n"
      "protocol_version=1\n"
      "allowed_ip=10.1.2.3/8\n"
      "\n");
  EXPECT_EQ(c.peers.at(0).public_key,
            hex("035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e"));
  EXPECT_EQ(c.peers[0].allowed_ips, (std::vector<IpPrefix>{prefix("10.0.0.0/8")}));
}

TEST(UapiProtocol, FormatsGetResponseAsWireguardGo) {
  DeviceSnapshot d;
  d.private_key =
      SecretKey(hex("38cf0d18c7789a8a9860ddfda99ee97268153915d746ad55bb49ee1a02c5c040"));
  d.listen_port = 51820;
  d.fwmark = 16;
  PeerSnapshot a;
  a.public_key = hex("035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e");
  a.preshared_key =
      SecretKey(hex("3e09cec8ea306627ab16683536ac753e804018d7cb097e8bbda34bf22061111a"));
  a.endpoint = Endpoint::parse("127.0.0.1:2408");
  a.persistent_keepalive_interval = 25;
  a.allowed_ips = {prefix("0.0.0.0/0"), prefix("::/0")};
  PeerSnapshot b;
  b.public_key = hex("a1506b430e5aa119c9c0a66c2576f88dc71f03cc6ca8a36cf8ddf5278ccf8e54");
  b.endpoint = Endpoint::parse("[2001:db8::5]:51820");
  b.allowed_ips = {prefix("10.0.0.0/8"), prefix("fd00::/64"), prefix("10.9.0.0/16")};
  d.peers = {a, b};
  EXPECT_EQ(format_get_response(d), kGetResponse);
}

TEST(UapiProtocol, GetResponseOmitsUnsetDeviceValuesAndCarriesCounters) {
  DeviceSnapshot d;
  PeerSnapshot p;
  p.last_handshake_sec = 1700000000;
  p.last_handshake_nsec = 123456789;
  p.tx_bytes = 18446744073709551615ull;
  p.rx_bytes = 42;
  d.peers = {p};
  const std::string r = format_get_response(d);
  EXPECT_TRUE(r.starts_with("public_key=" + std::string(64, '0') + "\n")) << r;
  EXPECT_NE(r.find("\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123456789\n"
                   "tx_bytes=18446744073709551615\nrx_bytes=42\n"),
            std::string::npos);
  EXPECT_EQ(r.find("endpoint="), std::string::npos);
  EXPECT_EQ(format_get_response(DeviceSnapshot{}), "errno=0\n\n");
}

int uapi_error_of(std::string_view request) {
  const auto r = parse_set_request(request);
  const auto* e = std::get_if<UapiError>(&r);
  return e == nullptr ? 0 : e->error;
}

TEST(UapiProtocol, MalformedRequestsGetWireguardGoErrnos) {
  const std::string pk =
      "public_key=035fb87e036814ecdccd8e1071050b161b8ff058e3940c5aa5bf444dfbd8156e\n";
  // The errnos wireguard-go answered for the first five (captured).
  EXPECT_EQ(uapi_error_of("set=1\nbogus=1\n\n"), EINVAL);
  EXPECT_EQ(uapi_error_of("set=1\nnoequals\n\n"), EPROTO);
  EXPECT_EQ(uapi_error_of("set=1\nlisten_port=70000\n\n"), EINVAL);
  EXPECT_EQ(uapi_error_of("set=1\npublic_key=zz\n\n"), EINVAL);
  EXPECT_EQ(uapi_error_of("set=1\nreplace_peers=false\n\n"), EINVAL);
  for (const std::string& bad : {
           std::string("set=1\nprivate_key=12\n\n"), std::string("set=1\nlisten_port=-1\n\n"),
           std::string("set=1\nlisten_port=\n\n"), std::string("set=1\nfwmark=0x10\n\n"),
           std::string("set=1\nfwmark=4294967296\n\n"),
           "set=1\n" + pk + "listen_port=1\n\n",  // a device key inside a peer
           "set=1\n" + pk + "remove=false\n\n", "set=1\n" + pk + "update_only=1\n\n",
           "set=1\n" + pk + "replace_allowed_ips=yes\n\n",
           "set=1\n" + pk + "preshared_key=" + std::string(63, 'a') + "\n\n",
           "set=1\n" + pk + "endpoint=example.com:51820\n\n",
           "set=1\n" + pk + "endpoint=1.2.3.4\n\n",
           "set=1\n" + pk + "persistent_keepalive_interval=65536\n\n",
           "set=1\n" + pk + "allowed_ip=10.0.0.0/33\n\n",
           "set=1\n" + pk + "allowed_ip=10.0.0.1\n\n", "set=1\n" + pk + "protocol_version=2\n\n",
           "set=1\n" + pk + "Endpoint=1.2.3.4:5\n\n",  // keys are case-sensitive
       })
    EXPECT_EQ(uapi_error_of(bad), EINVAL) << bad;
  EXPECT_EQ(uapi_error_of("get=1\n\n"), EPROTO);
  EXPECT_EQ(uapi_error_of("set=1\nlisten_port=1\n"), EPROTO);  // no blank line
  EXPECT_EQ(uapi_error_of("set=1\nlisten_port=1\n\nlisten_port=2\n\n"), EPROTO);
  EXPECT_EQ(uapi_error_of("set=1\n\n"), 0);  // an empty set is valid
}

TEST(UapiProtocol, ErrorsSayWhichLineAndHideKeys) {
  const auto r =
      parse_set_request("set=1\nlisten_port=1\nprivate_key=" + std::string(63, '7') + "\n\n");
  const auto& e = std::get<UapiError>(r);
  EXPECT_EQ(e.message, "line 3: invalid value for private_key: '(hidden)'");
}

TEST(UapiProtocol, Framing) {
  EXPECT_EQ(operation_of("get=1\n\n"), UapiOperation::get);
  EXPECT_EQ(operation_of("set=1\nlisten_port=1\n\n"), UapiOperation::set);
  EXPECT_EQ(operation_of("put=1\n\n"), UapiOperation::invalid);
  EXPECT_EQ(operation_of("get=2\n\n"), UapiOperation::invalid);
  EXPECT_FALSE(complete_request_length("get=1\n"));
  EXPECT_FALSE(complete_request_length("set=1\nlisten_port=1\n"));
  EXPECT_EQ(complete_request_length("get=1\n\nset=1\n"), 7u);
  EXPECT_EQ(complete_request_length(kSetconfRequest), kSetconfRequest.size());
  EXPECT_EQ(complete_request_length("\nget=1\n\n"), 1u);
  EXPECT_EQ(format_errno_response(0), "errno=0\n\n");
  EXPECT_EQ(format_errno_response(EINVAL), "errno=-22\n\n");  // as wireguard-go
  EXPECT_EQ(format_errno_response(EPROTO), "errno=-71\n\n");
}

}  // namespace
}  // namespace sockswitch::wireguard
