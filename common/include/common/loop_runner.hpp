// An event loop of its own for code that is not served by the App -- tests
// and tools that call loop-only code (the repository, the database) from a
// plain thread: each call runs in a fiber there, and the caller waits.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

namespace common {

namespace reactor {
class Reactors;
}

class LoopRunner {
 public:
  LoopRunner();
  ~LoopRunner();
  LoopRunner(const LoopRunner&) = delete;
  LoopRunner& operator=(const LoopRunner&) = delete;

  // Runs `body` in a new fiber on the loop; returns when it has, rethrowing
  // what it threw.
  void run(const std::function<void()>& body);

  template <typename F>
  auto call(F&& f) -> decltype(f()) {
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      run(f);
    } else {
      std::optional<R> out;
      run([&] { out.emplace(f()); });
      return std::move(*out);
    }
  }

 private:
  std::unique_ptr<reactor::Reactors> reactors_;
};

}  // namespace common
