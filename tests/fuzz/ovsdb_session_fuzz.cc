// tests/fuzz/ovsdb_session_fuzz.cc: what an ovsdb-server (or anything on its socket) sends.
//
// The bytes are a stream of JSON-RPC messages: cut by JsonStream, each
// message's table updates applied to a Replica (a malformed one refused
// whole), and after each the wanted Config built from the rows. Nothing
// may crash, hang or grow without bound, whatever the rows hold.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/ovsdb/database_config.h"
#include "control/ovsdb/json_stream.h"
#include "control/ovsdb/replica.h"

using namespace sockswitch::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ovsdb::JsonStream stream;
  ovsdb::Replica replica;
  ovsdb::DatabaseConfig mapper;
  Config file, running;
  stream.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    while (auto message = stream.next()) {
      const nlohmann::json* updates = nullptr;
      if (message->contains("result")) updates = &(*message)["result"];
      if (message->contains("params") && (*message)["params"].is_array() &&
          (*message)["params"].size() == 2)
        updates = &(*message)["params"][1];
      if (!updates) continue;
      try {
        replica.apply(*updates);
      } catch (const std::invalid_argument&) {
        continue;
      }
      running = mapper.build(replica, file, running, ovsdb::OfportAllocator::Clock::now()).wanted;
    }
  } catch (const ovsdb::JsonStreamError&) {
  }
  return 0;
}
