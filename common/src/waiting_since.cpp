// Per fiber: fibers of one loop share its thread, so a plain thread_local
// would hand one fiber's start to another; the map is keyed by the fiber.
#include "common/waiting_since.hpp"

#include <unordered_map>

#include "common/event_loop.hpp"

namespace common {
namespace {

std::unordered_map<const Fiber*, WaitingSince::Clock::time_point>& starts() {
  thread_local std::unordered_map<const Fiber*, WaitingSince::Clock::time_point> map;
  return map;
}

}  // namespace

WaitingSince::WaitingSince(Clock::time_point since) {
  auto& map = starts();
  auto [it, inserted] = map.try_emplace(Fiber::current(), since);
  if (!inserted) {
    previous_ = it->second;
    if (since < it->second) it->second = since;
  }
}

WaitingSince::~WaitingSince() {
  auto& map = starts();
  if (previous_) {
    map[Fiber::current()] = *previous_;
  } else {
    map.erase(Fiber::current());
  }
}

std::optional<WaitingSince::Clock::time_point> WaitingSince::current() {
  auto& map = starts();
  auto it = map.find(Fiber::current());
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace common
