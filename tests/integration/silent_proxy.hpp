// A TCP proxy in front of the test's PostgreSQL that can go silent: from then
// on it forwards nothing either way and accepts no new connection, yet closes
// nothing and sends no reset -- a frozen host or a network black hole, as the
// service sees it. resume() forwards again (what waited, then the rest).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace fixture {

class SilentProxy {
 public:
  explicit SilentProxy(int target_port);
  ~SilentProxy();
  SilentProxy(const SilentProxy&) = delete;
  SilentProxy& operator=(const SilentProxy&) = delete;

  int port() const { return port_; }
  void go_silent();
  void resume();
  int connections_accepted() const { return accepted_.load(); }

 private:
  void run();
  void wake();
  void accept_one();
  bool forward(int from, int to);  // false: that side closed or failed
  void close_pair(int fd);

  int target_port_;
  int port_ = 0;
  int listener_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> silent_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::map<int, int> peer_;  // each side's fd to the other's (the thread's own)
  std::thread thread_;
};

}  // namespace fixture
