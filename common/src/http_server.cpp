// Internal: the listening socket, the loops' connection sets, the drain.
//
// Pistache 0.0.5 is used for its reactor (the event loops, through its
// public Aio API) and its router tree (Rest::SegmentTreeNode, alone). Its HTTP
// layer is not used: it parses leniently, drops pipelined requests, decides
// Connection before the handler runs, answers HEAD with "Content-Length: 0",
// sends an exception's text as a 500 body, stalls after a partial write, and
// its Rest::Router inserts into a shared map for an unknown method. The
// service has its own strict parser (edge/request_framer.hpp), a route table
// built once around the tree (edge/router.hpp) and writer
// (edge/response_wire.hpp) instead.
#include "http_server.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "edge/response_wire.hpp"
#include "reactor/loop.hpp"

namespace common {
HttpServer::HttpServer(const Config& config, const std::vector<Route>& routes,
                       std::vector<std::shared_ptr<RequestObserver>> observers,
                       const std::atomic<bool>* draining)
    : config_(config), state_(routes) {
  state_.observers = std::move(observers);
  state_.draining = draining;
  state_.limits.max_request_line = config.max_request_line_bytes;
  state_.limits.max_header_bytes = config.max_header_bytes;
  state_.limits.max_header_fields = config.max_header_fields;
  state_.limits.max_body_bytes = config.max_body_bytes;
  state_.keepalive_timeout = std::chrono::seconds(config.keepalive_timeout_seconds);
  if (config.security_headers) state_.default_headers = edge::security_headers();
}

HttpServer::~HttpServer() {
  stop();
}

namespace {

// A socket bound to `address` (listening too with `listen`), non-blocking;
// -1 with errno set when it cannot be had.
int bound_socket(const addrinfo& address, bool reuse_port, bool listen) {
  int fd = ::socket(address.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if ((reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
      ::bind(fd, address.ai_addr, address.ai_addrlen) != 0 || (listen && ::listen(fd, 1024) != 0)) {
    int why = errno;
    ::close(fd);
    errno = why;
    return -1;
  }
  return fd;
}

int port_of(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(bound).sin_port);
}

void set_port(addrinfo& address, int port) {
  auto value = htons(static_cast<std::uint16_t>(port));
  if (address.ai_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(address.ai_addr)->sin6_port = value;
  } else {
    reinterpret_cast<sockaddr_in*>(address.ai_addr)->sin_port = value;
  }
}

}  // namespace

// One listening socket per loop, in a SO_REUSEPORT group: the kernel hands
// each new connection to one socket, so it wakes one loop. (One socket in
// every loop's set would wake them all for each connection, and all but one
// would find nothing to accept. EPOLLEXCLUSIVE would not help here: each loop's
// descriptors sit in an epoll set of its own that the reactor's poller
// watches, and an exclusive wakeup only stops at a set a thread waits on
// directly.)
void HttpServer::start(const std::vector<std::function<void()>>& loop_hooks) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  auto port_text = std::to_string(config_.port);
  if (int error = ::getaddrinfo(config_.host.c_str(), port_text.c_str(), &hints, &found)) {
    throw std::runtime_error("cannot resolve HOST " + config_.host + ": " + gai_strerror(error));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  auto cannot_listen = [&] {
    return "cannot listen on " + config_.host + ":" + port_text + ": " +
           std::generic_category().message(errno);
  };
  // First a plain socket is bound (never listening), which the port must be
  // free for: a second instance on the same port fails here, as it would
  // without SO_REUSEPORT, instead of silently sharing its connections. It
  // also picks the port for PORT=0.
  int probe = bound_socket(*found, false, false);
  if (probe < 0) throw std::runtime_error(cannot_listen());
  port_ = port_of(probe);
  ::close(probe);
  set_port(*found, port_);

  reactors_ = std::make_unique<reactor::Reactors>(config_.threads);
  for (std::size_t i = 0; i < reactors_->loops().size(); ++i) {
    int fd = bound_socket(*found, true, true);
    if (fd < 0) {
      auto why = cannot_listen();
      for (int open : listen_fds_) ::close(open);
      listen_fds_.clear();
      reactors_.reset();
      throw std::runtime_error(why);
    }
    listen_fds_.push_back(fd);
  }
  edge::reserve_descriptor();
  // What the descriptors allow, less a reserve for the database, the loops'
  // own descriptors, logs and the spare one above.
  long descriptors = edge::raise_descriptor_limit();
  state_.max_connections =
      config_.max_connections > 0
          ? config_.max_connections
          : static_cast<int>(std::max(16L, std::min(descriptors - 64, 1L << 20)));

  for (auto* loop : reactors_->loops()) {
    sets_.push_back(std::make_unique<edge::ConnectionSet>(*loop, state_));
    auto* set = sets_.back().get();
    int listen_fd = listen_fds_[static_cast<std::size_t>(loop->index())];
    loop->watch(listen_fd, true, false,
                [set, listen_fd](std::uint32_t) { set->accept_from(listen_fd); });
    loop->after(std::chrono::milliseconds(250), [set] { set->sweep(); });
    for (const auto& hook : loop_hooks) loop->post(hook);
  }
  accepting_ = true;
  reactors_->start();
}

void HttpServer::stop_accepting() {
  if (!accepting_ || !reactors_) return;
  accepting_ = false;
  std::vector<edge::ConnectionSet*> sets;
  for (auto& set : sets_) sets.push_back(set.get());
  auto listen_fds = listen_fds_;
  reactors_->run_on_each([&](reactor::Loop& loop) {
    auto index = static_cast<std::size_t>(loop.index());
    loop.unwatch(listen_fds[index]);
    sets[index]->close_idle();
  });
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
}

int HttpServer::open_connections() const {
  return state_.open_connections.load();
}

HttpServer::AcceptCounts HttpServer::accept_counts() const {
  AcceptCounts counts;
  for (const auto& set : sets_) {
    counts.accepted.push_back(set->accepted());
    counts.idle_wakeups += set->idle_wakeups();
  }
  return counts;
}

bool HttpServer::wait_idle(std::chrono::milliseconds deadline) const {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (state_.in_flight.load() > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void HttpServer::stop() {
  if (stopped_ || !reactors_) return;
  stopped_ = true;
  stop_accepting();
  std::vector<edge::ConnectionSet*> sets;
  for (auto& set : sets_) sets.push_back(set.get());
  reactors_->run_on_each(
      [&](reactor::Loop& loop) { sets[static_cast<std::size_t>(loop.index())]->close_all(); });
  reactors_->stop();
  reactors_.reset();
  sets_.clear();
}

}  // namespace common
