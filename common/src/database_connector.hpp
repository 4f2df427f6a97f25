// Internal: what the loops and the database's connecting thread share: the
// settings, the counters behind PoolStats, and the thread itself, which opens
// connections one at a time (libpq's connect blocks) and hands each to the
// loop that asked for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/database.hpp"
#include "common/event_loop.hpp"
#include "pg/pipeline.hpp"

namespace common {

// libpq's message on one line, without its trailing newline.
std::string trimmed(std::string text);

struct Database::Shared {
  const std::uint64_t owner = EventLoop::new_owner();
  std::string url;
  std::vector<std::pair<std::string, std::string>> prepared;
  int per_loop = 1;
  std::chrono::milliseconds request_timeout;
  std::chrono::milliseconds connection_wait;

  std::atomic<int> size{0};
  std::atomic<int> ready{0};
  std::atomic<int> in_use{0};
  std::atomic<int> waiting{0};
  std::atomic<long long> connect_failures{0};
  std::atomic<long long> broken{0};
  std::atomic<long long> timeouts{0};
  std::atomic<long long> abandoned{0};
  std::atomic<long long> calls{0};
  std::atomic<int> connecting{0};
  std::atomic<bool> broken_since_success{false};  // a connect failed since the last success

  // The connecting thread: jobs in, ready connections handed to their loop.
  struct Job {
    std::function<void(std::unique_ptr<pg::Pipeline>, std::string error)> deliver;
  };
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Job> jobs;
  bool stopping = false;
  bool finished = false;  // the thread is done with everything
  std::thread thread;

  // The thread's body: runs jobs until `stopping`.
  void connect_loop();
  void submit(Job job);

  // The loops using this database, so that one finding it back tells the
  // others at once instead of at their next retry.
  struct Peer {
    EventLoop* loop;
    std::shared_ptr<std::atomic<bool>> alive;
    std::function<void()> retry;
  };
  std::vector<Peer> peers;  // under mutex

  void add_peer(Peer peer);
  void tell_peers_it_is_back(EventLoop* from);
};

}  // namespace common
