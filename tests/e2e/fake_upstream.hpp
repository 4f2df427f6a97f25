// A stand-in replica for nginx's upstream tests: it answers every request
// with one fixed status and records what it was sent, so a test can tell
// which replica saw a request and how many times. Plain blocking sockets on
// one thread; each answer closes its connection.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace e2e {

class FakeUpstream {
 public:
  explicit FakeUpstream(int status);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  int port() const { return port_; }
  // "METHOD /path" of every request received so far, in order.
  std::vector<std::string> requests() const;
  void clear();

 private:
  void serve();
  void answer(int fd);

  int status_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace e2e
