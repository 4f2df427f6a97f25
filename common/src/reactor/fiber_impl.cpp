// Fibers over Boost.Context, with pooled, guarded stacks.
#include "reactor/fiber_impl.hpp"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/stack_context.hpp>
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

thread_local FiberImpl* running = nullptr;
thread_local void* last_stack_bottom = nullptr;  // of the stack allocated last
thread_local std::size_t live = 0;

// Stacks are mapped once and reused: mmap and munmap per request would cost
// more than the request. A guard page below each turns an overflow into a
// crash instead of silent corruption.
class StackPool {
 public:
  ~StackPool() {
    for (void* base : free_) ::munmap(base, kStackSize + page());
  }
  boost::context::stack_context allocate() {
    void* base = nullptr;
    if (!free_.empty()) {
      base = free_.back();
      free_.pop_back();
    } else {
      base = ::mmap(nullptr, kStackSize + page(), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
      ::mprotect(base, page(), PROT_NONE);
    }
    boost::context::stack_context context;
    context.size = kStackSize;
    context.sp = static_cast<char*>(base) + page() + kStackSize;
    last_stack_bottom = static_cast<char*>(base) + page();
    return context;
  }
  void deallocate(boost::context::stack_context& context) {
    void* base = static_cast<char*>(context.sp) - kStackSize - page();
    if (free_.size() < kKeptStacks) {
      free_.push_back(base);
    } else {
      ::munmap(base, kStackSize + page());
    }
  }

 private:
  static std::size_t page() {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
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

FiberImpl::FiberImpl(EventLoop* loop, std::function<void()> body)
    : Fiber(loop), body_(std::move(body)) {
  ++live;
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
