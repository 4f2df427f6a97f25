// The index page in headless Chromium, through the e2e stack's nginx. The
// cases live in browser/index_page.test.mjs (playwright-core from npm,
// Debian's /usr/bin/chromium); this test starts the stack and runs them.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "stack.hpp"
#include "support/pg_cluster.hpp"

namespace {

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Browser, IndexPage_AsAPersonUsesIt) {
  const std::string dir = support::project_root() + "/tests/e2e/browser";
  if (run("test -d '" + dir + "/node_modules/playwright-core'") != 0) {
    ASSERT_EQ(run("npm ci --prefix '" + dir + "' --no-audit --no-fund --loglevel=error"), 0)
        << "could not install playwright-core from npm";
  }
  e2e::Stack stack;
  std::string base = "http://127.0.0.1:" + std::to_string(stack.nginx_port());
  int code = run("node '" + dir + "/index_page.test.mjs' " + base + " '" ARTIFACT_DIR "'");
  EXPECT_EQ(code, 0) << "browser cases failed; screenshots and HTML in " ARTIFACT_DIR;
}

}  // namespace
