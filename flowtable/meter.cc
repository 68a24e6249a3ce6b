// flowtable/meter.cc: reading and writing meters in ovs-ofctl's syntax.
#include "flowtable/meter.h"

#include <fmt/format.h>

#include "flowtable/flow_tokens.h"
#include "flowtable/value_text.h"

namespace sockswitch::flowtable {
namespace {

struct Word {
  std::string_view text;
  int column;  // 1-based, within the meter text (the text starts at pos.column)
};

// The comma-separated words of `text` (OVS also takes spaces between them).
std::vector<Word> words(std::string_view text) {
  std::vector<Word> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\t'))
      ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ',' && text[i] != ' ' && text[i] != '\t')
      ++i;
    if (i > start) out.push_back({text.substr(start, i - start), static_cast<int>(start) + 1});
  }
  return out;
}

class MeterReader {
 public:
  MeterReader(std::string_view text, const SourcePos& pos) : text_(text), pos_(pos) {}

  [[noreturn]] void fail(const Word& w, std::string message) const {
    fail_at(pos_, pos_.column - 1 + w.column, w.text, std::move(message));
  }
  std::uint32_t number(const Word& w, std::string_view value, std::uint64_t low,
                       std::uint64_t high) const {
    std::uint64_t n = 0;
    try {
      n = parse_number(value);
    } catch (const std::exception& e) {
      fail(w, e.what());
    }
    if (n < low || n > high) fail(w, fmt::format("{} is out of range {}..{}", value, low, high));
    return static_cast<std::uint32_t>(n);
  }
  std::uint32_t id(const Word& w, std::string_view value, bool all_allowed) const {
    if (all_allowed && value == "all") return 0;
    return number(w, value, 1, kMeterIdMax);
  }

  MeterConfig read() {
    MeterConfig m;
    bool have_id = false, have_unit = false, in_bands = false;
    MeterBand* band = nullptr;
    for (Word w : words(text_)) {
      const std::size_t eq = w.text.find('=');
      std::string_view key = w.text.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? "" : w.text.substr(eq + 1);
      if (!in_bands && (key == "bands" || key == "band")) {
        in_bands = true;
        // "bands=type=drop": the first band's first field is in this word.
        const std::size_t eq2 = value.find('=');
        if (value.empty()) continue;
        key = value.substr(0, eq2);
        value = eq2 == std::string_view::npos ? "" : value.substr(eq2 + 1);
      }
      if (in_bands) {
        if (key == "type") {
          if (value == "dscp_remark")
            fail(w, "dscp_remark bands are not supported (only drop, as OVS's userspace meters)");
          if (value != "drop") fail(w, fmt::format("unknown band type '{}'", value));
          band = &m.bands.emplace_back();
        } else if (band == nullptr) {
          fail(w, "a band starts with type=drop");
        } else if (key == "rate") {
          band->rate = number(w, value, 1, 0xffffffff);
        } else if (key == "burst_size") {
          band->burst_size = number(w, value, 0, 0xffffffff);
        } else {
          fail(w, fmt::format("unknown band field '{}'", key));
        }
        continue;
      }
      if (key == "meter") {
        m.id = id(w, value, false);
        have_id = true;
      } else if (w.text == "kbps" || w.text == "pktps") {
        if (have_unit) fail(w, "give one of kbps and pktps");
        m.unit = w.text == "kbps" ? MeterUnit::kbps : MeterUnit::pktps;
        have_unit = true;
      } else if (w.text == "burst") {
        m.burst = true;
      } else if (w.text == "stats") {
        m.stats = true;
      } else {
        fail(w, fmt::format("unknown meter setting '{}'", w.text));
      }
    }
    const Word whole{text_, 1};
    if (!have_id) fail(whole, "a meter needs meter=ID");
    if (m.bands.empty()) fail(whole, "a meter needs bands=type=drop,rate=N");
    for (const MeterBand& b : m.bands)
      if (b.rate == 0) fail(whole, "each band needs a rate");
    return m;
  }

  std::uint32_t selector() const {
    const std::vector<Word> ws = words(text_);
    if (ws.empty()) return 0;
    if (ws.size() > 1) fail(ws[1], "only meter=ID or meter=all selects meters");
    const std::string_view t = ws[0].text;
    if (!t.starts_with("meter=")) fail(ws[0], "select meters with meter=ID or meter=all");
    return id(ws[0], t.substr(6), true);
  }

 private:
  std::string_view text_;
  SourcePos pos_;
};

}  // namespace

MeterConfig parse_meter(std::string_view text, const SourcePos& pos) {
  return MeterReader(text, pos).read();
}

std::uint32_t parse_meter_selector(std::string_view text, const SourcePos& pos) {
  return MeterReader(text, pos).selector();
}

std::string format_meter(const MeterConfig& m) {
  std::string out = fmt::format("meter={},{}", m.id, m.unit == MeterUnit::kbps ? "kbps" : "pktps");
  if (m.burst) out += ",burst";
  if (m.stats) out += ",stats";
  out += ",bands=";
  for (std::size_t i = 0; i < m.bands.size(); ++i) {
    out += fmt::format("{}type=drop,rate={}", i ? "," : "", m.bands[i].rate);
    if (m.bands[i].burst_size) out += fmt::format(",burst_size={}", m.bands[i].burst_size);
  }
  return out;
}

}  // namespace sockswitch::flowtable
