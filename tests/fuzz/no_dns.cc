// tests/fuzz/no_dns.cc: host name lookups fail at once in the fuzz targets that link it.
//
// A wg-quick Endpoint or a config naming a host would otherwise send DNS
// queries from inside the fuzzing loop: slow, dependent on the network, and
// different from run to run. Defined in the executable, this getaddrinfo
// takes the place of libc's (the sanitizers' interceptor is a weak alias, so
// it yields too); a failed lookup is a path the parsers already handle (the
// WireGuard port resolves such a peer again later).
#include <netdb.h>

extern "C" int getaddrinfo(const char* /*node*/, const char* /*service*/,
                           const struct addrinfo* /*hints*/, struct addrinfo** res) {
  if (res != nullptr) *res = nullptr;
  return EAI_NONAME;
}
