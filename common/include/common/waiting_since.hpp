// When the running fiber began to wait for what it now asks the database,
// so that one deadline (DB_REQUEST_TIMEOUT_MS) bounds the whole wait: a
// caller queued in a Batcher is counted from its arrival there, not from the
// moment its batch's leader calls Database::run.
#pragma once

#include <chrono>
#include <optional>

namespace common {

class WaitingSince {
 public:
  using Clock = std::chrono::steady_clock;

  // For the running fiber (or thread, outside a fiber) until destroyed; an
  // earlier start already in force is kept.
  explicit WaitingSince(Clock::time_point since);
  ~WaitingSince();
  WaitingSince(const WaitingSince&) = delete;
  WaitingSince& operator=(const WaitingSince&) = delete;

  // The running fiber's start, if one is in force.
  static std::optional<Clock::time_point> current();

 private:
  std::optional<Clock::time_point> previous_;
};

}  // namespace common
