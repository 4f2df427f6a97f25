// The pages a person uses, in headless Chromium, through the e2e stack's
// nginx (prod headers). The cases live in browser/*.test.mjs (playwright-core
// from npm, Debian's /usr/bin/chromium); these tests start a stack and run them.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "stack.hpp"
#include "support/pg_cluster.hpp"
#include "support/smtp_sink.hpp"

namespace {

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs browser/<script> against a fresh stack; its exit code. With a `sink`
// the stack's mail goes to it, and the script reads its Maildir (MAILDIR).
int run_cases(const std::string& script, const support::SmtpSink* sink = nullptr) {
  const std::string dir = support::project_root() + "/tests/e2e/browser";
  if (run("test -d '" + dir + "/node_modules/playwright-core'") != 0) {
    if (run("npm ci --prefix '" + dir + "' --no-audit --no-fund --loglevel=error") != 0) {
      ADD_FAILURE() << "could not install playwright-core from npm";
      return -1;
    }
  }
  e2e::Stack stack(sink ? sink->url() : "");
  std::string base = "http://127.0.0.1:" + std::to_string(stack.nginx_port());
  std::string env = sink ? "MAILDIR='" + sink->maildir() + "' " : "";
  return run(env + "node '" + dir + "/" + script + "' " + base + " '" ARTIFACT_DIR "'");
}

TEST(Browser, IndexPage_AsAPersonUsesIt) {
  EXPECT_EQ(run_cases("index_page.test.mjs"), 0)
      << "browser cases failed; screenshots and HTML in " ARTIFACT_DIR;
}

// /docs reads as a reference (Markdown rendered, fits 1100 px) and /docs/try
// (Swagger UI) works under the prod CSP: Authorize, GET /auth/status, PATCH.
TEST(Browser, ApiDocs_AsAPersonReadsAndTriesThem) {
  EXPECT_EQ(run_cases("api_docs.test.mjs"), 0)
      << "browser cases failed; screenshots and HTML in " ARTIFACT_DIR;
}

// A person asks for a password reset, opens the link from the mail, sets a
// new password and logs in with it; a verification link's button verifies.
TEST(Browser, AccountPages_AsAPersonOpensThemFromTheMail) {
  support::SmtpSink sink;
  EXPECT_EQ(run_cases("account_pages.test.mjs", &sink), 0)
      << "browser cases failed; screenshots and HTML in " ARTIFACT_DIR;
}

}  // namespace
