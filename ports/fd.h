// ports/fd.h: owns one file descriptor, and one mmap'd region.
//
// Every driver holds its sockets, /dev/net/tun queues and rings through
// these owners so that a half-built port (a constructor that throws after
// the socket opened) closes everything it opened, and a moved-from port owns
// nothing. The named factories are the only way the control path opens a
// descriptor: they throw std::system_error naming the syscall and its
// argument, so an operator reads "socket(AF_PACKET): Operation not
// permitted" rather than a bare errno. Hot-path I/O never goes through here
// (it uses get() with the raw syscalls and treats EAGAIN as "nothing now").
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>

namespace sockswitch::ports {

[[noreturn]] inline void throw_errno(const std::string& what, int err = errno) {
  throw std::system_error(err, std::generic_category(), what);
}

class Fd final {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  // socket(2), always close-on-exec (tests fork `ip` and `ping`).
  [[nodiscard]] static Fd socket(int domain, int type, int protocol, const char* what) {
    const int fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw_errno(std::string("socket(") + what + ")");
    return Fd(fd);
  }
  // open(2), always close-on-exec.
  [[nodiscard]] static Fd open(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) throw_errno("open(" + path + ")");
    return Fd(fd);
  }

 private:
  int fd_ = -1;
};

// An mmap'd region; unmapped on destruction. Movable, not copyable.
class MappedRegion final {
 public:
  MappedRegion() noexcept = default;
  MappedRegion(MappedRegion&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), length_(std::exchange(o.length_, 0)) {}
  MappedRegion& operator=(MappedRegion&& o) noexcept {
    if (this != &o) {
      reset();
      addr_ = std::exchange(o.addr_, nullptr);
      length_ = std::exchange(o.length_, 0);
    }
    return *this;
  }
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion() { reset(); }

  // mmap(2) of `length` bytes of `fd` shared read-write (a packet ring).
  [[nodiscard]] static MappedRegion map_shared(const Fd& fd, std::size_t length, const char* what) {
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) throw_errno(std::string("mmap(") + what + ")");
    MappedRegion r;
    r.addr_ = static_cast<std::byte*>(p);
    r.length_ = length;
    return r;
  }

  [[nodiscard]] std::byte* data() const noexcept { return addr_; }
  [[nodiscard]] std::size_t size() const noexcept { return length_; }
  void reset() noexcept {
    if (addr_ != nullptr) ::munmap(addr_, length_);
    addr_ = nullptr;
    length_ = 0;
  }

 private:
  std::byte* addr_ = nullptr;
  std::size_t length_ = 0;
};

}  // namespace sockswitch::ports
