// make bench, first: what one route lookup costs (edge/router.hpp), per
// request line. The table is the service's own, in the order
// users::create_app mounts its blueprints; the paths are the common ones,
// one near the table's end and two that no route answers as it should.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "edge/router.hpp"

namespace {

const common::edge::Router& service_router() {
  static const common::edge::Router router([] {
    std::vector<common::Route> routes;
    auto add = [&](const char* method, const char* path) {
      routes.push_back(common::Route{method, path,
                                     [](const common::Request&) { return common::Response{}; },
                                     common::json_error});
    };
    add("GET", "/ping");
    add("GET", "/health/live");
    add("GET", "/health/ready");
    add("POST", "/users");
    add("GET", "/users");
    add("GET", "/users/:id");
    add("GET", "/");
    add("POST", "/");
    add("POST", "/auth/register");
    add("POST", "/auth/login");
    add("GET", "/auth/status");
    add("GET", "/auth/logout");
    add("PATCH", "/users/:id");
    add("DELETE", "/users/:id");
    add("POST", "/auth/password");
    add("GET", "/static/docs.css");
    add("GET", "/static/style.css");
    add("GET", "/metrics");
    add("GET", "/openapi.json");
    add("GET", "/docs");
    add("GET", "/docs/try");
    add("GET", "/docs/try/:file");
    return routes;
  }());
  return router;
}

void lookup(benchmark::State& state, const char* method, const char* path) {
  const auto& router = service_router();
  for (auto _ : state) {
    auto match = router.match(method, path);
    benchmark::DoNotOptimize(match);
  }
}

BENCHMARK_CAPTURE(lookup, get_ping, "GET", "/ping");
BENCHMARK_CAPTURE(lookup, get_user_by_id, "GET", "/users/42");
BENCHMARK_CAPTURE(lookup, post_auth_login, "POST", "/auth/login");
BENCHMARK_CAPTURE(lookup, get_docs_try_file, "GET", "/docs/try/swagger-ui.css");
BENCHMARK_CAPTURE(lookup, delete_users_405, "DELETE", "/users");
BENCHMARK_CAPTURE(lookup, unknown_404, "GET", "/no/such/path");

}  // namespace

BENCHMARK_MAIN();
