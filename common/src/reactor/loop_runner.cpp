// A loop of its own, for calls from plain threads.
#include "common/loop_runner.hpp"

#include <exception>
#include <future>

#include "reactor/loop.hpp"

namespace common {

LoopRunner::LoopRunner() : reactors_(std::make_unique<reactor::Reactors>(1)) {
  reactors_->start();
}

LoopRunner::~LoopRunner() = default;

void LoopRunner::run(const std::function<void()>& body) {
  std::promise<void> finished;
  auto* loop = reactors_->loops().front();
  loop->post([&] {
    try {
      loop->spawn([&] {
        try {
          body();
          finished.set_value();
        } catch (...) {
          finished.set_exception(std::current_exception());
        }
      });
    } catch (...) {  // no fiber to be had: the caller hears it instead of waiting for ever
      finished.set_exception(std::current_exception());
    }
  });
  finished.get_future().get();
}

}  // namespace common
