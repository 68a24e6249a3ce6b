// packet/rcu.h: publishing immutable state to poll threads (liburcu QSBR).
//
// The control thread owns every mutable thing; it builds a new immutable
// snapshot (flow-table version, port set) and publishes a pointer to it.
// Poll threads read the pointer with no lock and no atomic read-modify-write
// and announce a quiescent state between bursts. After publish(), the
// control thread calls synchronize(): when it returns, every poll thread has
// passed a quiescent point, so none still uses the old snapshot, and it can
// be freed. That moment is also when a flow change is "installed": a poll
// thread that starts a burst after it sees the new snapshot (and clears its
// caches when it notices the change).
//
// QSBR costs readers nothing per access; the price is that a registered
// thread must report quiescent states regularly, and go offline before it
// sleeps so that it does not hold up synchronize().
#pragma once

#include <atomic>

#include <urcu-qsbr.h>

namespace sockswitch::packet {

// Registration of the calling thread as an RCU reader for its lifetime.
class RcuReader final {
 public:
  RcuReader() noexcept { rcu_register_thread(); }
  ~RcuReader() { rcu_unregister_thread(); }
  RcuReader(const RcuReader&) = delete;
  RcuReader& operator=(const RcuReader&) = delete;

  // Between bursts: no reference to a published snapshot survives this call.
  static void quiescent() noexcept { rcu_quiescent_state(); }
  // Around a sleep: an offline thread does not delay synchronize().
  static void offline() noexcept { rcu_thread_offline(); }
  static void online() noexcept { rcu_thread_online(); }
};

// The pointer itself is a std::atomic<const T*>: the control thread stores
// it with release order, readers load it with acquire order (what
// rcu_assign_pointer / rcu_dereference do, without their C casts).
template <typename T>
using RcuPointer = std::atomic<const T*>;

// Waits until every registered reader has passed a quiescent state.
inline void rcu_synchronize() noexcept {
  synchronize_rcu();
}

}  // namespace sockswitch::packet
