// ports/memlock_limit.h: room for the locked memory AF_XDP needs.
#pragma once

namespace sockswitch::ports {

// AF_XDP UMEMs and rings are locked memory, charged to RLIMIT_MEMLOCK on
// kernels and capabilities that still count it. Lifts the limit (needs
// CAP_SYS_RESOURCE), else raises the soft limit to the hard one
// (CAP_IPC_LOCK, which the daemon's unit grants, ignores it anyway).
// Process-wide and idempotent; a failure is left for the UMEM registration
// to report.
void raise_memlock_limit() noexcept;

}  // namespace sockswitch::ports
