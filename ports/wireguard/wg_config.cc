// ports/wireguard/wg_config.cc: the wg-quick / `wg setconf` file parser.
#include "ports/wireguard/wg_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace sockswitch::wireguard {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// A piece of a line and where it starts (0-based offset into the line).
struct Token {
  std::string_view text;
  std::size_t offset = 0;
};

Token trim(Token t) noexcept {
  while (!t.text.empty() && is_space(t.text.front())) {
    t.text.remove_prefix(1);
    ++t.offset;
  }
  while (!t.text.empty() && is_space(t.text.back()))
    t.text.remove_suffix(1);
  return t;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Comma-separated items, each trimmed; empty items are kept so that the
// caller can reject "a,,b" at the right column.
std::vector<Token> split_list(Token value) {
  std::vector<Token> items;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = value.text.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? value.text.size() : comma;
    items.push_back(trim(Token{value.text.substr(start, end - start), value.offset + start}));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

template <typename Int>
std::optional<Int> parse_decimal(std::string_view text, Int max) noexcept {
  std::uint64_t v = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > max) return std::nullopt;
  return static_cast<Int>(v);
}

class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  WgConfig parse(std::string_view text) {
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t nl = text.find('\n', start);
      const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
      ++line_no_;
      line(text.substr(start, end - start));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
    finish_peer();
    return std::move(config_);
  }

 private:
  enum class Section : std::uint8_t { none, interface, peer };

  [[noreturn]] void fail(const Token& at, std::string message) const {
    throw WgConfigError(ConfigPos{std::string(file_), line_no_, static_cast<int>(at.offset) + 1},
                        std::string(at.text), std::move(message));
  }
  // Where the text might be (part of) a secret: a key pasted alone on a line
  // reads as a key name, a bad PrivateKey as a value. Such text is shown
  // only when it is a plain word (every key name is letters only); errors,
  // logs and ctl replies never carry 8 characters of a key.
  [[noreturn]] void fail_unshown(const Token& at, std::string message,
                                 bool may_show_word = true) const {
    const bool word = may_show_word && !at.text.empty() && at.text.size() <= 24 &&
                      std::all_of(at.text.begin(), at.text.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                      });
    if (word) fail(at, std::move(message));
    throw WgConfigError(ConfigPos{std::string(file_), line_no_, static_cast<int>(at.offset) + 1},
                        "", std::move(message) + " (text not shown: it may hold a key)");
  }

  void line(std::string_view raw) {
    Token t{raw, 0};
    const std::size_t hash = raw.find('#');
    if (hash != std::string_view::npos) t.text = raw.substr(0, hash);
    t = trim(t);
    if (t.text.empty()) return;
    if (t.text.front() == '[') return section_header(t);
    const std::size_t eq = t.text.find('=');
    if (eq == std::string_view::npos) fail_unshown(t, "expected 'Key = Value' or a [Section]");
    const Token key = trim(Token{t.text.substr(0, eq), t.offset});
    const Token value = trim(Token{t.text.substr(eq + 1), t.offset + eq + 1});
    if (key.text.empty()) fail_unshown(t, "missing key before '='");
    if (section_ == Section::none)
      fail_unshown(key, "key outside of a section; expected [Interface] or [Peer] first");
    const std::string name = lower(key.text);
    const bool accumulates = name == "allowedips" || name == "address" || name == "dns" ||
                             name == "preup" || name == "postup" || name == "predown" ||
                             name == "postdown";
    if (!accumulates && !seen_keys_.insert(name).second)
      fail_unshown(key, "key given twice in this section");
    if (value.text.empty() && name != "allowedips") fail_unshown(key, "missing value");
    if (section_ == Section::interface)
      interface_key(name, key, value);
    else
      peer_key(name, key, value);
  }

  void section_header(const Token& t) {
    if (t.text.back() != ']') fail_unshown(t, "section header must end with ']'");
    const Token name = trim(Token{t.text.substr(1, t.text.size() - 2), t.offset + 1});
    finish_peer();
    seen_keys_.clear();
    if (iequals(name.text, "Interface")) {
      if (seen_interface_) fail(name, "second [Interface] section");
      seen_interface_ = true;
      section_ = Section::interface;
    } else if (iequals(name.text, "Peer")) {
      section_ = Section::peer;
      peer_ = PeerConfig{};
      peer_.line = line_no_;
      peer_has_key_ = false;
    } else {
      fail_unshown(name, "unknown section; expected [Interface] or [Peer]");
    }
  }

  void finish_peer() {
    if (section_ != Section::peer) return;
    if (!peer_has_key_)
      throw WgConfigError(ConfigPos{std::string(file_), peer_.line, 1}, "[Peer]",
                          "peer has no PublicKey");
    config_.peers.push_back(std::move(peer_));
    section_ = Section::none;
  }

  SecretKey secret(const Token& value) const {
    const auto k = key_from_base64(value.text);
    if (!k) fail_unshown(value, "invalid key; expected 44 characters of base64", false);
    SecretKey s(*k);
    KeyBytes copy = *k;
    wipe(copy.data(), copy.size());
    return s;
  }

  std::uint16_t port(const Token& value) const {
    const auto p = parse_decimal<std::uint16_t>(value.text, 65535);
    if (!p) fail(value, "invalid port; expected 0..65535");
    return *p;
  }

  void interface_key(const std::string& name, const Token& key, const Token& value) {
    InterfaceConfig& i = config_.interface;
    WgQuickSettings& q = i.wg_quick;
    if (name == "privatekey") {
      i.private_key = secret(value);
    } else if (name == "listenport") {
      i.listen_port = port(value);
    } else if (name == "fwmark") {
      i.fwmark = fwmark(value);
    } else if (name == "address") {
      for (const Token& item : split_list(value)) {
        const auto p = IpPrefix::parse(item.text);
        if (!p) fail(item, "invalid address; expected an IP address with an optional /length");
        q.addresses.push_back(*p);
      }
    } else if (name == "dns") {
      for (const Token& item : split_list(value)) {
        if (item.text.empty()) fail(item, "empty DNS entry");
        q.dns.emplace_back(item.text);
      }
    } else if (name == "mtu") {
      const auto mtu = parse_decimal<std::uint32_t>(value.text, 65535);
      if (!mtu || *mtu < 68) fail(value, "invalid MTU; expected 68..65535");
      q.mtu = *mtu;
    } else if (name == "table") {
      q.table = std::string(value.text);
    } else if (name == "preup") {
      q.pre_up.emplace_back(value.text);
    } else if (name == "postup") {
      q.post_up.emplace_back(value.text);
    } else if (name == "predown") {
      q.pre_down.emplace_back(value.text);
    } else if (name == "postdown") {
      q.post_down.emplace_back(value.text);
    } else if (name == "saveconfig") {
      if (iequals(value.text, "true"))
        q.save_config = true;
      else if (iequals(value.text, "false"))
        q.save_config = false;
      else
        fail(value, "invalid SaveConfig; expected true or false");
    } else {
      fail_unshown(key, "unknown key in [Interface]");
    }
  }

  std::uint32_t fwmark(const Token& value) const {
    if (iequals(value.text, "off")) return 0;
    std::string_view digits = value.text;
    int base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      digits.remove_prefix(2);
      base = 16;
    }
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
        v > 0xffffffffu)
      fail(value, "invalid FwMark; expected off, a number or 0x hex up to 32 bits");
    return static_cast<std::uint32_t>(v);
  }

  void peer_key(const std::string& name, const Token& key, const Token& value) {
    if (name == "publickey") {
      const auto k = key_from_base64(value.text);
      if (!k) fail(value, "invalid key; expected 44 characters of base64");
      for (const PeerConfig& other : config_.peers)
        if (other.public_key == *k)
          fail(value,
               "duplicate peer; the same PublicKey is at line " + std::to_string(other.line));
      peer_.public_key = *k;
      peer_has_key_ = true;
    } else if (name == "presharedkey") {
      peer_.preshared_key = secret(value);
    } else if (name == "endpoint") {
      std::string why;
      bool lookup_failed = false;
      auto e = Endpoint::resolve(value.text, why, lookup_failed);
      if (!e && lookup_failed)
        peer_.endpoint_host = std::string(value.text);  // resolved again by the port
      else if (!e)
        fail(value, "invalid endpoint: " + why);
      else
        peer_.endpoint = *e;
    } else if (name == "allowedips") {
      if (value.text.empty()) return;  // "AllowedIPs =" is an empty set, as in wg
      for (const Token& item : split_list(value)) {
        const auto p = IpPrefix::parse(item.text);
        if (!p) fail(item, "invalid AllowedIPs entry; expected an IP prefix such as 10.0.0.0/8");
        const IpPrefix m = p->masked();
        if (std::find(peer_.allowed_ips.begin(), peer_.allowed_ips.end(), m) ==
            peer_.allowed_ips.end())
          peer_.allowed_ips.push_back(m);
      }
    } else if (name == "persistentkeepalive") {
      if (iequals(value.text, "off")) {
        peer_.persistent_keepalive = 0;
      } else {
        const auto s = parse_decimal<std::uint16_t>(value.text, 65535);
        if (!s) fail(value, "invalid PersistentKeepalive; expected off or 0..65535 seconds");
        peer_.persistent_keepalive = *s;
      }
    } else {
      fail_unshown(key, "unknown key in [Peer]");
    }
  }

  std::string_view file_;
  int line_no_ = 0;
  WgConfig config_;
  Section section_ = Section::none;
  bool seen_interface_ = false;
  std::set<std::string> seen_keys_;
  PeerConfig peer_;
  bool peer_has_key_ = false;
};

}  // namespace

WgConfig parse_wg_config(std::string_view text, std::string_view file_name) {
  return Parser(file_name).parse(text);
}

WgConfig load_wg_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WgConfigError(ConfigPos{path.string(), 1, 1}, "", "cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw WgConfigError(ConfigPos{path.string(), 1, 1}, "", "cannot read file");
  std::string contents = text.str();
  // The text held the private key: wipe it whether or not it parses.
  struct Wipe {
    std::string& s;
    ~Wipe() { wipe(s.data(), s.size()); }
  } wipe_contents{contents};
  return parse_wg_config(contents, path.filename().string());
}

}  // namespace sockswitch::wireguard
