// A connection whose request finds no fiber to run in (the stacks' bound,
// reactor/fiber_impl.hpp) is answered 503 with Retry-After and closed at
// once; it is never left open and unanswered, which the sweep would not end
// (it never times out a connection that is being served).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/app.hpp"
#include "common/event_loop.hpp"
#include "common/json_response.hpp"
#include "reactor/fiber_impl.hpp"
#include "support/http_client.hpp"
#include "unit_app.hpp"

namespace {

using namespace std::chrono_literals;
using common::reactor::mapped_fiber_stacks;

// /slow holds its fiber (suspended, not its loop) for a while.
class SlowBlueprint : public common::Blueprint {
 public:
  void register_routes(common::Routes& routes) override {
    routes.get("/slow", [](const common::Request&) {
      common::sleep_for(1500ms);
      return common::success_message(200, "slow");
    });
    routes.get("/fast",
               [](const common::Request&) { return common::success_message(200, "fast"); });
  }
};

TEST(FiberShedding, NoFiberForARequest_503WithRetryAfterAndClosed) {
  common::App app(unit::test_config({{"THREADS", "1"}}));
  app.mount(std::make_shared<SlowBlueprint>());
  app.start();
  std::size_t saved = common::reactor::max_fiber_stacks();
  struct Restore {
    std::size_t saved;
    ~Restore() { common::reactor::set_max_fiber_stacks(saved); }
  } restore{saved};
  ASSERT_EQ(support::http_request(app.port(), "GET", "/fast").status, 200);

  // Two fibers held by /slow use the last two stacks there may be (the
  // loop's pool holds the one /fast used, so that one is taken first).
  std::size_t before = mapped_fiber_stacks();
  common::reactor::set_max_fiber_stacks(before + 1);
  support::HttpConnection first("127.0.0.1", app.port());
  support::HttpConnection second("127.0.0.1", app.port());
  first.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  second.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  auto deadline = unit::Clock::now() + 5s;
  while (mapped_fiber_stacks() < before + 1 && unit::Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(mapped_fiber_stacks(), before + 1);

  support::HttpConnection third("127.0.0.1", app.port(), 5s);
  auto started = unit::Clock::now();
  auto shed = third.request("GET", "/fast", "", {{"X-Request-ID", "shed-request-1"}});
  unit::expect_json_fail(shed, 503, "Too many requests at once. Please try again shortly.");
  EXPECT_EQ(shed.header("Retry-After"), "1");
  EXPECT_EQ(shed.header("Connection"), "close");
  EXPECT_EQ(shed.header("X-Request-ID"), "shed-request-1");
  EXPECT_TRUE(third.is_closed_by_peer(3s));
  EXPECT_LT(unit::Clock::now() - started, 1s) << "answered at once, not after the slow ones";

  // The held requests are still answered, and then fibers can be had again.
  EXPECT_EQ(first.read_response().status, 200);
  EXPECT_EQ(second.read_response().status, 200);
  EXPECT_EQ(support::http_request(app.port(), "GET", "/fast").status, 200);
}

}  // namespace
