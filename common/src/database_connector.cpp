// The database's connecting thread and the loops it tells (database_connector.hpp).
#include "database_connector.hpp"

#include "common/text.hpp"

namespace common {

std::string trimmed(std::string text) {
  text.resize(trim_end(text, "\n ").size());
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

void Database::Shared::connect_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    std::unique_ptr<pg::Pipeline> pipeline;
    std::string error;
    try {
      pipeline = pg::Pipeline::connect(url, {"SET statement_timeout = 5000"}, prepared);
    } catch (const std::exception& failure) {
      error = trimmed(failure.what());
    }
    job.deliver(std::move(pipeline), std::move(error));
  }
}

void Database::Shared::submit(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    jobs.push_back(std::move(job));
  }
  wake.notify_one();
}

void Database::Shared::add_peer(Peer peer) {
  std::lock_guard<std::mutex> lock(mutex);
  peers.push_back(std::move(peer));
}

void Database::Shared::tell_peers_it_is_back(EventLoop* from) {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto& peer : peers) {
    if (peer.loop == from || !peer.alive->load()) continue;
    auto alive = peer.alive;
    auto retry = peer.retry;
    EventLoop::post_if_running(peer.loop, [alive, retry] {
      if (alive->load()) retry();
    });
  }
}

}  // namespace common
