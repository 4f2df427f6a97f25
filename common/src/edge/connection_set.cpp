// The connections of one loop: accepting, sweeping, closing.
#include "edge/connection_set.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "edge/http_connection.hpp"

namespace common::edge {
namespace {

constexpr auto kSweepPeriod = std::chrono::milliseconds(250);
constexpr int kAcceptsPerEvent = 64;

std::string address_of(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  }
  return text;
}

// One descriptor held in reserve: when the process runs out (EMFILE), it is
// given up for a moment to accept and close the waiting connection, so the
// client hears at once instead of waiting in the backlog and the loop does
// not spin on a listening socket it cannot serve.
// Atomic: the loops may run out at once, and only one may give it up.
std::atomic<int> reserve_fd{-1};

// One warning per interval, however many connections are refused.
bool time_to_warn() {
  static std::atomic<long long> last_warning{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  auto last = last_warning.load();
  return now - last > std::chrono::nanoseconds(std::chrono::seconds(5)).count() &&
         last_warning.compare_exchange_strong(last, now);
}

void shed_one(int listen_fd) {
  int reserve = reserve_fd.exchange(-1);
  if (reserve >= 0) {
    ::close(reserve);
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    reserve_fd.store(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  if (time_to_warn()) spdlog::warn("out of file descriptors: new connections are refused");
}

}  // namespace

void ConnectionSet::accept_from(int listen_fd) {
  for (int i = 0; i < kAcceptsPerEvent; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        shed_one(listen_fd);
      } else if (i == 0) {
        idle_wakeups_.fetch_add(1, std::memory_order_relaxed);  // woken for nothing
      }
      return;  // EAGAIN: none left
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    if (state_.open_connections.load() >= state_.max_connections) {
      // Over MAX_CONNECTIONS: closed at once, so the client hears now
      // rather than timing out in the backlog.
      ::close(fd);
      if (time_to_warn()) {
        spdlog::warn("{} connections open (MAX_CONNECTIONS): new ones are refused",
                     state_.max_connections);
      }
      continue;
    }
    state_.open_connections.fetch_add(1);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_shared<HttpConnection>(
        loop_, [this](int closed) { remove(closed); }, state_, fd, address_of(address));
    connections_[fd] = connection;
    connection->start();
  }
}

void ConnectionSet::sweep() {
  auto now = HttpConnection::Clock::now();
  std::vector<std::shared_ptr<HttpConnection>> all;
  all.reserve(connections_.size());
  for (auto& [fd, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->sweep(now);
  loop_.after(kSweepPeriod, [this] { sweep(); });
}

void ConnectionSet::close_all() {
  std::vector<std::shared_ptr<HttpConnection>> all;
  for (auto& [fd, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->close();
}

void ConnectionSet::close_idle() {
  std::vector<std::shared_ptr<HttpConnection>> all;
  for (auto& [fd, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->sweep(HttpConnection::Clock::now());
}

long raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? 1L << 20 : static_cast<long>(limit.rlim_cur);
}

void reserve_descriptor() {
  if (reserve_fd.load() >= 0) return;
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int none = -1;
  if (fd >= 0 && !reserve_fd.compare_exchange_strong(none, fd)) ::close(fd);
}

}  // namespace common::edge
