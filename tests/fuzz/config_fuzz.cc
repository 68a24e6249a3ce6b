// tests/fuzz/config_fuzz.cc: the TOML config loader (control/config.h) on arbitrary text.
//
// The input is the text of a config file, parsed with parse_config() as if
// it were <dir>/sockswitch.toml, where <dir> is a directory of this process
// holding a few files a config may name by a relative path: a good and a
// bad flow file and a good and a bad wg-quick file (the bad one holds a
// private key before its error). Inputs that name a flow or wg-quick file
// by an absolute path or through "..", which would read whatever the fuzzer
// spells (/dev/zero never ends), are skipped; host names in wg-quick
// Endpoints fail without DNS (no_dns.cc).
//
// Checks: parse_config either returns a Config or throws ConfigError with
// at least one issue (anything else escaping is a crash); no error carries 8
// characters of the fixture's private keys; a Config it returns has bridges
// and ports of distinct names, port numbers distinct within a bridge and
// named by its port map, and a second parse gives the same ports.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "control/config.h"

namespace ctl = sockswitch::control;

namespace {

// Made for this fixture only (like tests/wireguard/wg_config_test.cc's).
constexpr std::string_view kPrivateKeys[] = {
    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=",
};

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// The fixture directory, made once per process and removed at exit (the
// path is never freed: the exit handler runs after static destructors).
const std::string& fixture_dir() {
  static const std::string* const dir = [] {
    char tmpl[] = "/tmp/config_fuzz.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) fail("mkdtemp", "");
    const std::string d = tmpl;
    write(d + "/good.flows",
          "priority=10,in_port=p1,actions=output:p2\n"
          "priority=5,ip,nw_dst=10.0.0.0/8,actions=mod_nw_ttl:9,normal\n"
          "table=1,actions=drop\n");
    write(d + "/bad.flows", "priority=10,in_port=nowhere,actions=output:p2\nactions=frobnicate\n");
    write(d + "/wg0.conf", std::string("[Interface]\nPrivateKey = ") +
                               std::string(kPrivateKeys[0]) +
                               "\nListenPort = 51820\nAddress = 10.9.0.1/24\n\n[Peer]\n"
                               "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
                               "AllowedIPs = 10.9.0.2/32\nEndpoint = 192.0.2.1:51820\n");
    write(d + "/bad.conf", std::string("[Interface]\nPrivateKey = ") +
                               std::string(kPrivateKeys[1]) + "\nListenPort = 99999\n");
    std::atexit([] {
      for (const char* f : {"good.flows", "bad.flows", "wg0.conf", "bad.conf"})
        (void)unlink((*dir + "/" + f).c_str());
      (void)rmdir(dir->c_str());
    });
    return new std::string(d);
  }();
  return *dir;
}

// Whether every file the config names stays inside the fixture directory.
bool names_only_local_files(const toml::node& n) {
  if (const toml::table* t = n.as_table()) {
    for (const auto& [key, value] : *t) {
      if ((key.str() == "flows" || key.str() == "wg_config") && value.is_string()) {
        const std::string& path = value.as_string()->get();
        if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos)
          return false;
      }
      if (!names_only_local_files(value)) return false;
    }
  } else if (const toml::array* a = n.as_array()) {
    for (const toml::node& e : *a)
      if (!names_only_local_files(e)) return false;
  }
  return true;
}

void check_no_key(std::string_view input, const std::string& error) {
  for (std::string_view key : kPrivateKeys)
    for (std::size_t i = 0; i + 8 <= key.size(); ++i) {
      const std::string_view w = key.substr(i, 8);
      if (error.find(w) != std::string::npos && input.find(w) == std::string_view::npos)
        fail("an error shows a private key", error);
    }
}

void check_config(const ctl::Config& c) {
  std::set<std::string> bridges, ports;
  for (const ctl::BridgeConfig& b : c.bridges) {
    if (!bridges.insert(b.name).second) fail("bridge named twice", b.name);
    std::set<std::uint32_t> numbers;
    for (const ctl::PortConfig& p : b.ports) {
      if (!ports.insert(p.name).second) fail("port named twice", p.name);
      const std::uint32_t no = sockswitch::flowtable::to_u32(p.ofport);
      if (no == 0 || !numbers.insert(no).second) fail("port number 0 or twice", p.name);
      auto map = b.port_map;
      const auto found = map.resolve(p.name);
      if (!found || *found != p.ofport) fail("port map does not name the port", p.name);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string file = fixture_dir() + "/sockswitch.toml";
  try {
    const toml::table root = toml::parse(text, file);
    if (!names_only_local_files(root)) return 0;
  } catch (const toml::parse_error&) {
    // parse_config reports it; it reads no file.
  }
  try {
    const ctl::Config c = ctl::parse_config(text, file);
    check_config(c);
    const ctl::Config again = ctl::parse_config(text, file);
    if (again.bridges.size() != c.bridges.size()) fail("a second parse differs", "bridges");
    for (std::size_t i = 0; i < c.bridges.size(); ++i)
      if (!(again.bridges[i].ports == c.bridges[i].ports)) fail("a second parse differs", "ports");
  } catch (const ctl::ConfigError& e) {
    if (e.issues().empty()) fail("ConfigError without issues", e.what());
    check_no_key(text, e.what());
  }
  return 0;
}
