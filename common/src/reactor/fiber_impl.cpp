// Fibers over Boost.Context, with pooled, guarded stacks.
#include "reactor/fiber_impl.hpp"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/context/stack_context.hpp>
#include <fstream>
#include <new>
#include <vector>

#include "common/log_context.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define USERS_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif

namespace common::reactor {
namespace {

#ifdef USERS_ASAN
constexpr std::size_t kStackSize = std::size_t{1024} * 1024;  // ASan's redzones make frames larger
#else
constexpr std::size_t kStackSize = std::size_t{256} * 1024;  // touched only as deep as used
#endif
constexpr std::size_t kKeptStacks = 256;
constexpr std::size_t kDefaultMaxMapCount = 65530;  // the kernel's default

thread_local FiberImpl* running = nullptr;
thread_local void* last_stack_bottom = nullptr;  // of the stack allocated last
thread_local std::size_t live = 0;

// Stacks mapped in the process, in use or pooled, and the most there may be.
std::atomic<std::size_t> mapped_stacks{0};
std::atomic<std::size_t> stack_limit{0};  // 0: not derived yet

std::size_t max_map_count() {
  std::ifstream file("/proc/sys/vm/max_map_count");
  long long value = 0;
  if (file >> value && value > 0) return static_cast<std::size_t>(value);
  return kDefaultMaxMapCount;
}

std::size_t limit() {
  auto value = stack_limit.load(std::memory_order_relaxed);
  if (value == 0) {
    // Each stack costs two mappings (the guard page splits it from the
    // rest). Half of vm.max_map_count is left for everything else the
    // process maps (libraries, malloc's large blocks and arenas, threads'
    // stacks, Argon2's memory): near the kernel's limit it is mprotect (a
    // guard page) or a hash's mmap that fails, so the fibers stop first.
    std::size_t expected = 0;
    stack_limit.compare_exchange_strong(expected, std::max<std::size_t>(1, max_map_count() / 4));
    value = stack_limit.load(std::memory_order_relaxed);
  }
  return value;
}

// Stacks are mapped once and reused: mmap and munmap per request would cost
// more than the request. A guard page below each turns an overflow into a
// crash instead of silent corruption; a stack whose guard page cannot be set
// is never used.
class StackPool {
 public:
  ~StackPool() {
    for (void* base : free_) unmap(base);
  }
  boost::context::stack_context allocate() {
    void* base = nullptr;
    if (!free_.empty()) {
      base = free_.back();
      free_.pop_back();
    } else {
      base = map();
    }
    boost::context::stack_context context;
    context.size = kStackSize;
    context.sp = static_cast<char*>(base) + page() + kStackSize;
    last_stack_bottom = static_cast<char*>(base) + page();
    return context;
  }
  void deallocate(boost::context::stack_context& context) {
    void* base = static_cast<char*>(context.sp) - kStackSize - page();
    // Near the limit a freed stack is unmapped rather than kept, so that
    // one loop's pool cannot starve the others.
    if (free_.size() < kKeptStacks && mapped_stacks.load() <= limit() / 2) {
      free_.push_back(base);
    } else {
      unmap(base);
    }
  }

 private:
  static std::size_t page() {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
  }
  // Throws std::bad_alloc at the limit or when the kernel refuses either
  // the mapping or its guard page (ENOMEM near vm.max_map_count).
  static void* map() {
    if (mapped_stacks.fetch_add(1) >= limit()) {
      mapped_stacks.fetch_sub(1);
      throw std::bad_alloc();
    }
    void* base = ::mmap(nullptr, kStackSize + page(), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      mapped_stacks.fetch_sub(1);
      throw std::bad_alloc();
    }
    if (::mprotect(base, page(), PROT_NONE) != 0) {
      unmap(base);
      throw std::bad_alloc();
    }
    return base;
  }
  static void unmap(void* base) {
    ::munmap(base, kStackSize + page());
    mapped_stacks.fetch_sub(1);
  }
  std::vector<void*> free_;
};

thread_local StackPool stacks;

// Boost.Context's allocator concept, over the thread's pool.
struct PooledStack {
  boost::context::stack_context allocate() { return stacks.allocate(); }
  void deallocate(boost::context::stack_context& context) { stacks.deallocate(context); }
};

}  // namespace

std::size_t live_fibers() {
  return live;
}

std::size_t max_fiber_stacks() {
  return limit();
}

void set_max_fiber_stacks(std::size_t stacks) {
  stack_limit.store(std::max<std::size_t>(1, stacks));
}

std::size_t mapped_fiber_stacks() {
  return mapped_stacks.load();
}

FiberImpl::FiberImpl(EventLoop* loop, std::function<void()> body)
    : Fiber(loop), body_(std::move(body)) {
  PooledStack allocator;
  context_ =
      boost::context::fiber(std::allocator_arg, allocator, [this](boost::context::fiber&& back) {
#ifdef USERS_ASAN
        __sanitizer_finish_switch_fiber(nullptr, &loop_stack_bottom_, &loop_stack_size_);
#endif
        back_ = std::move(back);
        try {
          body_();
        } catch (const std::exception& error) {
          spdlog::error("a fiber ended with an exception: {}", error.what());
        }
        // A fiber is never destroyed suspended (the loop drains them first),
        // so no forced unwinding passes through the catch above.
        done_ = true;
        body_ = nullptr;
#ifdef USERS_ASAN
        __sanitizer_start_switch_fiber(nullptr, loop_stack_bottom_, loop_stack_size_);
#endif
        return std::move(back_);
      });
  stack_bottom_ = last_stack_bottom;
  stack_size_ = kStackSize;
  ++live;  // only once it has a stack: a constructor that threw has no destructor
}

FiberImpl::~FiberImpl() {
  --live;
}

bool FiberImpl::resume() {
  FiberImpl* outer = running;
  running = this;
  std::string loop_request_id(current_request_id());
  set_current_request_id(request_id_);
#ifdef USERS_ASAN
  void* loop_fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&loop_fake_stack, stack_bottom_, stack_size_);
#endif
  context_ = std::move(context_).resume();
#ifdef USERS_ASAN
  __sanitizer_finish_switch_fiber(loop_fake_stack, nullptr, nullptr);
#endif
  request_id_.assign(current_request_id());
  set_current_request_id(loop_request_id);
  running = outer;
  return done_;
}

void FiberImpl::suspend_running() {
#ifdef USERS_ASAN
  __sanitizer_start_switch_fiber(&fake_stack_, loop_stack_bottom_, loop_stack_size_);
#endif
  back_ = std::move(back_).resume();
#ifdef USERS_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_, &loop_stack_bottom_, &loop_stack_size_);
#endif
}

}  // namespace common::reactor

namespace common {

Fiber* Fiber::current() {
  return reactor::running;
}

void Fiber::suspend() {
  auto* fiber = reactor::running;
  if (!fiber) throw std::logic_error("Fiber::suspend called outside a fiber");
  fiber->suspend_running();
}

}  // namespace common
