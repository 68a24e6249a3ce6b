// ports/wireguard_uapi_server.cc: the UAPI unix socket, its files and request framing.
#include "ports/wireguard_uapi_server.h"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <system_error>

namespace sockswitch::ports {

struct WireGuardUapiServer::Client final {
  Fd fd;
  std::string in, out;
  bool eof = false;                // the client shut its side: answer what is complete, then close
  bool closing = false;            // framing lost: write the error, then close
  std::uint32_t events = EPOLLIN;  // what epoll watches for it now
};

namespace {

constexpr std::size_t kReadChunk = 16384;
constexpr std::size_t kMaxOutBeforePause = 4 << 20;  // stop answering until the client reads
constexpr int kMaxEvents = 16;
constexpr int kMaxAcceptsPerCall = 64;

// wireguard-go's sign, errno=-22 (wg takes either form on set).
std::string errno_answer(int err) {
  return "errno=-" + std::to_string(err) + "\n\n";
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

void validate_name(const std::string& name, const std::string& path) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw std::system_error(EINVAL, std::generic_category(),
                            "WireGuard UAPI socket name '" + name + "'");
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    throw std::system_error(ENAMETOOLONG, std::generic_category(), "WireGuard UAPI path " + path);
}

void make_directory(const std::string& dir) {
  const std::filesystem::path p(dir);
  if (std::filesystem::is_directory(p)) return;
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir(" + dir + ")");
  if (::chmod(dir.c_str(), 0755) != 0) throw_errno("chmod(" + dir + ", 0755)");
}

// Removes a socket file no process answers any more; refuses to touch a live
// one or anything that is not a socket.
void clear_stale_socket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_errno("lstat(" + path + ")");
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::system_error(EEXIST, std::generic_category(),
                            path + " exists and is not a socket; not removing it");
  Fd probe = Fd::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, "AF_UNIX probe");
  const sockaddr_un a = unix_address(path);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 ||
      errno == EAGAIN || errno == EINPROGRESS)
    throw std::system_error(EADDRINUSE, std::generic_category(),
                            path + " is served by another process");
  if (errno != ECONNREFUSED && errno != ENOENT) throw_errno("connect(" + path + ")");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("unlink(" + path + ")");
}

}  // namespace

WireGuardUapiServer::WireGuardUapiServer(const std::string& name, Handler handler,
                                         WireGuardUapiOptions options)
    : handler_(std::move(handler)),
      options_(std::move(options)),
      path_(options_.directory + "/" + name + ".sock") {
  validate_name(name, path_);
  make_directory(options_.directory);
  clear_stale_socket(path_);
  listener_ = Fd::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, "AF_UNIX, SOCK_STREAM");
  const sockaddr_un a = unix_address(path_);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw_errno("bind(" + path_ + ")");
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) throw_errno("stat(" + path_ + ")");
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  // Before listen(): until then every connect is refused, so nobody gets in
  // through the umask's wider mode.
  if (::chmod(path_.c_str(), 0600) != 0) {
    const int err = errno;
    ::unlink(path_.c_str());
    throw_errno("chmod(" + path_ + ", 0600)", err);
  }
  if (::listen(listener_.get(), 16) != 0) {
    const int err = errno;
    ::unlink(path_.c_str());
    throw_errno("listen(" + path_ + ")", err);
  }
  epoll_ = Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_errno("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener_.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev) != 0)
    throw_errno("epoll_ctl(uapi listener)");
}

WireGuardUapiServer::~WireGuardUapiServer() {
  struct stat st;
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
    ::unlink(path_.c_str());
}

void WireGuardUapiServer::handle_readable() noexcept {
  std::array<epoll_event, kMaxEvents> events;
  const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, 0);
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listener_.get()) {
      accept_all();
      continue;
    }
    auto it = std::find_if(clients_.begin(), clients_.end(),
                           [fd](const auto& c) { return c->fd.get() == fd; });
    if (it != clients_.end() && !serve(**it, events[i].events)) close_client(fd);
  }
}

void WireGuardUapiServer::accept_all() noexcept {
  for (int i = 0; i < kMaxAcceptsPerCall; ++i) {
    Fd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN, or a connection that died in the backlog
    if (clients_.size() >= options_.max_clients) {
      bump(refused_);
      continue;  // closed by Fd
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) continue;
    try {
      auto c = std::make_unique<Client>();
      c->fd = std::move(fd);
      clients_.push_back(std::move(c));
      bump(connections_);
    } catch (const std::bad_alloc&) {
      return;  // `fd` (or the half-built client) closes itself, epoll drops it
    }
  }
}

bool WireGuardUapiServer::serve(Client& c, std::uint32_t events) noexcept {
  try {
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !c.eof && !c.closing) {
      std::array<char, kReadChunk> buf;
      // Read no more than one oversized request's worth: the rest is never looked at.
      while (c.in.size() <= options_.max_request) {
        const ssize_t r = ::read(c.fd.get(), buf.data(), buf.size());
        if (r > 0) {
          c.in.append(buf.data(), static_cast<std::size_t>(r));
          continue;
        }
        if (r == 0)
          c.eof = true;
        else if (errno == EINTR)
          continue;
        else if (errno != EAGAIN)
          return false;
        break;
      }
    }
    if (!flush(c)) return false;
    while (c.out.size() < kMaxOutBeforePause) {
      if (!answer_complete_requests(c)) break;
      if (!flush(c)) return false;
    }
    if (!flush(c)) return false;
  } catch (const std::exception&) {
    return false;  // out of memory: drop this client, keep serving the others
  }
  if (c.out.empty() && (c.closing || c.eof)) return false;
  // Level-triggered input that will not be read (closing, EOF, or paused
  // behind unread answers) must leave the set, or the loop would spin on it.
  const bool want_in = !c.closing && !c.eof && c.out.size() < kMaxOutBeforePause;
  const std::uint32_t want = (want_in ? EPOLLIN : 0u) | (c.out.empty() ? 0u : EPOLLOUT);
  if (want != c.events) {
    epoll_event ev{};
    ev.events = want;
    ev.data.fd = c.fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) return false;
    c.events = want;
  }
  return true;
}

// Answers the first complete request in c.in, or a framing error; false
// when there was nothing to answer.
bool WireGuardUapiServer::answer_complete_requests(Client& c) {
  if (c.closing || c.in.empty()) return false;
  // The operation line decides at once, before the client sends more.
  const std::size_t eol = c.in.find('\n');
  if (eol != std::string::npos) {
    const std::string_view op(c.in.data(), eol);
    if (op != "get=1" && op != "set=1") {
      bump(malformed_);
      c.out += errno_answer(EINVAL);
      c.closing = true;
      c.in.clear();
      return true;
    }
  }
  const std::size_t end = c.in.find("\n\n");
  if (end == std::string::npos ? c.in.size() > options_.max_request
                               : end + 2 > options_.max_request) {
    bump(oversized_);
    c.out += errno_answer(EMSGSIZE);
    c.closing = true;
    c.in.clear();
    return true;
  }
  if (end == std::string::npos) return false;
  const std::string_view request(c.in.data(), end + 2);
  bump(requests_);
  try {
    c.out += handler_(request);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    bump(handler_errors_);
    c.out += errno_answer(EPROTO);
  }
  c.in.erase(0, end + 2);
  return true;
}

bool WireGuardUapiServer::flush(Client& c) noexcept {
  std::size_t done = 0;
  while (done < c.out.size()) {
    const ssize_t w = ::send(c.fd.get(), c.out.data() + done, c.out.size() - done, MSG_NOSIGNAL);
    if (w > 0) {
      done += static_cast<std::size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    return false;  // the client went away
  }
  c.out.erase(0, done);
  return true;
}

void WireGuardUapiServer::close_client(int fd) noexcept {
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  std::erase_if(clients_, [fd](const auto& c) { return c->fd.get() == fd; });
}

WireGuardUapiCounters WireGuardUapiServer::counters() const noexcept {
  auto r = [](const std::atomic<std::uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return {r(connections_), r(requests_), r(malformed_),
          r(oversized_),   r(refused_),  r(handler_errors_)};
}

}  // namespace sockswitch::ports
