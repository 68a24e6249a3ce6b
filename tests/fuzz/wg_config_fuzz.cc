// tests/fuzz/wg_config_fuzz.cc: the wg-quick / `wg setconf` file parser.
//
// Any input either parses to a whole WgConfig or throws WgConfigError;
// anything else escaping is a crash. Host names in Endpoint lines do not
// reach DNS (no_dns.cc): they fail as an offline boot would.
//
// Secrets: the parser promises that errors never carry 8 characters of a
// key (wg_config.cc, fail_unshown). The secret text of an input is found
// here the way the parser reads lines: the value of a PrivateKey or
// PresharedKey line, and a long token pasted without a value (it reads as a
// key name). No 8-character window of it may appear in the error's token
// (the input text an error quotes), unless the same 8 characters also occur
// in the input outside every secret, where quoting them is legitimate. The
// rest of the error is its position (checked to be one) and its message, a
// fixed template, not checked: a secret spelled like a template word would
// be a false alarm.
//
// What parses must be consistent: every AllowedIPs prefix is masked and
// appears once per peer, and no two peers share a public key.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ports/wireguard/wg_config.h"

namespace wg = sockswitch::wireguard;

namespace {

constexpr std::size_t kWindow = 8;
constexpr std::string_view kFile = "fuzz.conf";

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "wg_config_fuzz: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The secret pieces of `text`, as the parser splits its lines.
std::vector<std::string_view> secrets(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    line = trim(line.substr(0, line.find('#')));
    if (line.empty() || line.front() == '[') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (line.size() >= 40) out.push_back(line);  // a key pasted alone
      continue;
    }
    const std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    const std::string name = lower(key);
    if (name == "privatekey" || name == "presharedkey")
      out.push_back(value);
    else if (value.empty() && key.size() >= 40)
      out.push_back(key);  // "KEY=" with the padding read as the separator
  }
  return out;
}

// `text` with every secret blanked out: what an error may quote freely.
std::string public_text(std::string_view text, const std::vector<std::string_view>& hidden) {
  std::string out(text);
  for (std::string_view s : hidden) {
    const std::size_t at = static_cast<std::size_t>(s.data() - text.data());
    std::fill(out.begin() + std::ptrdiff_t(at), out.begin() + std::ptrdiff_t(at + s.size()), '\n');
  }
  return out;
}

void check_error(std::string_view text, const wg::WgConfigError& e) {
  // The rest of what() is the file name and two numbers.
  if (e.pos().file != kFile || e.pos().line < 1 || e.pos().column < 1)
    fail("error position", e.what());
  const std::vector<std::string_view> hidden = secrets(text);
  if (hidden.empty()) return;
  const std::string open = public_text(text, hidden);
  for (std::string_view s : hidden) {
    for (std::size_t i = 0; i + kWindow <= s.size(); ++i) {
      const std::string_view w = s.substr(i, kWindow);
      if (open.find(w) != std::string::npos) continue;
      if (e.token().find(w) != std::string::npos) fail("error quotes a secret", e.what());
    }
  }
}

void check_config(const wg::WgConfig& c) {
  for (std::size_t i = 0; i < c.peers.size(); ++i) {
    const wg::PeerConfig& p = c.peers[i];
    for (std::size_t j = 0; j < i; ++j)
      if (c.peers[j].public_key == p.public_key) fail("two peers share a key", "");
    for (std::size_t a = 0; a < p.allowed_ips.size(); ++a) {
      if (!(p.allowed_ips[a].masked() == p.allowed_ips[a])) fail("an AllowedIP is not masked", "");
      for (std::size_t b = 0; b < a; ++b)
        if (p.allowed_ips[a] == p.allowed_ips[b]) fail("an AllowedIP is listed twice", "");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_config(wg::parse_wg_config(text, kFile));
  } catch (const wg::WgConfigError& e) {
    check_error(text, e);
  }
  return 0;
}
