// tests/fuzz/uapi_protocol_fuzz.cc: libFuzzer target for the WireGuard UAPI
// set parser, which reads whatever a local client writes to the socket.
//
// Any input must either parse or come back as a UapiError with EINVAL or
// EPROTO (no exception, no crash, no sanitizer report), and whatever parses
// must format to a request that parses back to the same request text.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ports/wireguard/uapi_protocol.h"

using namespace sockswitch::wireguard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)operation_of(input);
  if (const auto n = complete_request_length(input); n && *n > input.size()) std::abort();

  // Frame as the server does: "set=1\n" + the input, cut at its blank line.
  std::string request = "set=1\n" + std::string(input);
  if (const auto n = complete_request_length(request)) request.resize(*n);
  const auto parsed = parse_set_request(request);
  if (const auto* e = std::get_if<UapiError>(&parsed)) {
    if (e->error != EINVAL && e->error != EPROTO) std::abort();
    return 0;
  }
  const std::string printed = format_set_request(std::get<DeviceChange>(parsed));
  const auto again = parse_set_request(printed);
  if (const auto* e = std::get_if<UapiError>(&again)) {
    std::fprintf(stderr, "reparse failed: %s\n--- printed ---\n%s", e->message.c_str(),
                 printed.c_str());
    std::abort();
  }
  if (format_set_request(std::get<DeviceChange>(again)) != printed) {
    std::fprintf(stderr, "round trip mismatch:\n%s", printed.c_str());
    std::abort();
  }
  return 0;
}
