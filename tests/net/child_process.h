// tests/net/child_process.h: starting a helper program (the daemon, wireguard-go) for a test.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sockswitch::test::net {

// fork/exec of argv with stdin from /dev/null and stdout and stderr into
// `log_path` (created or truncated, 0600). The child gets SIGKILL when the
// test process dies, so a crashed or killed test leaves no daemon holding
// sockets, namespaces or /var/run/wireguard names for the next run.
// Returns the child's pid; throws std::runtime_error when it cannot start.
[[nodiscard]] pid_t spawn_with_log(const std::vector<std::string>& argv,
                                   const std::string& log_path);

}  // namespace sockswitch::test::net
