// The fibers' stacks (reactor/fiber_impl.hpp): at most max_fiber_stacks()
// mapped at once, and never a stack without its guard page. A fiber that
// cannot be had is an exception at spawn, never a fiber on an unguarded stack.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <memory>
#include <new>
#include <vector>

#include "common/event_loop.hpp"
#include "common/loop_runner.hpp"
#include "reactor/fiber_impl.hpp"

namespace {

using common::reactor::mapped_fiber_stacks;
using common::reactor::max_fiber_stacks;
using common::reactor::set_max_fiber_stacks;

// Puts the derived limit back, whatever the test did.
struct LimitRestored {
  std::size_t saved = max_fiber_stacks();
  ~LimitRestored() { set_max_fiber_stacks(saved); }
};

TEST(FiberStacks, Limit_IsAQuarterOfTheKernelsMapCount) {
  std::ifstream file("/proc/sys/vm/max_map_count");
  std::size_t count = 0;
  ASSERT_TRUE(file >> count);
  EXPECT_EQ(max_fiber_stacks(), count / 4);
}

// Fibers that all wait at once: beyond the bound, spawn throws and what was
// refused is not counted alive; once they end, fibers can be had again.
TEST(FiberStacks, BeyondTheBound_SpawnThrowsThenRecovers) {
  LimitRestored restore;
  common::LoopRunner runner;  // a fresh loop thread: its pool of freed stacks is empty
  runner.run([&] {
    auto& loop = *common::EventLoop::current();
    std::size_t alive_before = common::reactor::live_fibers();
    set_max_fiber_stacks(mapped_fiber_stacks() + 3);
    bool go = false;
    std::vector<common::Fiber*> waiting;
    common::Wait all_done;
    int spawned = 0;
    int finished = 0;
    bool refused = false;
    for (int i = 0; i < 100 && !refused; ++i) {
      try {
        loop.spawn([&] {  // starts once this fiber suspends
          waiting.push_back(common::Fiber::current());
          while (!go) common::Fiber::suspend();
          if (++finished == spawned) all_done.notify();
        });
        ++spawned;
      } catch (const std::bad_alloc&) {
        refused = true;
      }
      EXPECT_LE(mapped_fiber_stacks(), max_fiber_stacks());
    }
    EXPECT_TRUE(refused);
    EXPECT_EQ(spawned, 3);
    EXPECT_EQ(common::reactor::live_fibers(), alive_before + static_cast<std::size_t>(spawned));

    common::sleep_for(std::chrono::milliseconds(1));  // they run up to their wait
    go = true;
    for (auto* fiber : waiting) loop.wake(fiber);
    all_done.wait();

    common::Wait again;
    EXPECT_NO_THROW(loop.spawn([&] { again.notify(); }));
    again.wait();
  });
}

// Near vm.max_map_count the kernel maps a stack but refuses to split off its
// guard page (mprotect: ENOMEM). Such a stack must never be used: the fiber
// is refused and the mapping given back. Run in a child process, which fills
// its own map count to the kernel's limit.
TEST(FiberStacks, GuardPageRefused_FiberRefusedAndMappingGivenBack) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator maps memory of its own on demand: at the
  // map count's limit it dies (exit 1) before the fiber's stack is tried. The
  // test runs in the plain build (make test), where the limit is the kernel's.
  GTEST_SKIP() << "a process at vm.max_map_count cannot run ASan's allocator";
#endif
  std::size_t limit = max_fiber_stacks();  // derived before the child fills the map count
  (void)limit;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    long page = ::sysconf(_SC_PAGESIZE);
    // One-page mappings with alternating protections, so none merges with
    // its neighbour: each costs one of the process's mappings.
    std::vector<void*> fillers;
    fillers.reserve(2'000'000);
    for (int i = 0;; ++i) {
      void* at = ::mmap(nullptr, static_cast<std::size_t>(page), i % 2 ? PROT_READ : PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (at == MAP_FAILED) break;
      fillers.push_back(at);
      if (fillers.size() == fillers.capacity()) ::_exit(10);  // no limit reached
    }
    // Room for exactly one more mapping: the stack's mmap succeeds, its
    // guard page (a second mapping) does not.
    ::munmap(fillers[fillers.size() / 2], static_cast<std::size_t>(page));
    std::size_t mapped = mapped_fiber_stacks();
    bool refused = false;
    try {
      auto fiber = std::make_unique<common::reactor::FiberImpl>(nullptr, [] {});
      fiber.release();  // never resumed; the child ends here
    } catch (const std::bad_alloc&) {
      refused = true;
    }
    if (!refused) ::_exit(41);  // a fiber on a stack without a guard page
    if (mapped_fiber_stacks() != mapped) ::_exit(42);
    // The refused stack was unmapped: its one mapping is free again.
    void* again = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ::_exit(again == MAP_FAILED ? 43 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "41: a fiber got a stack without a guard page; 42: the count leaked; "
         "43: the refused stack stayed mapped; 10: no map count limit reached";
}

}  // namespace
