// The path rule of the router (edge/router.hpp): one spelling per path.
// nginx and the Ingress match exact strings, so every other spelling of a
// limited or blocked path must be a 404 here, not a second way in.
#include <gtest/gtest.h>

#include "edge/router.hpp"

namespace {

using common::edge::is_canonical_path;

TEST(CanonicalPath, RootAndPlainPaths_AreCanonical) {
  for (const char* path : {"/", "/ping", "/users/1", "/auth/login", "/metrics", "/a/b/c",
                           "/users/1%2F2", "/static/main.css", "/users/...", "/.well-known"}) {
    EXPECT_TRUE(is_canonical_path(path)) << path;
  }
}

TEST(CanonicalPath, TrailingSlash_IsNotCanonical) {
  for (const char* path : {"/metrics/", "/auth/login/", "/users/1/", "/ping/", "/users/"}) {
    EXPECT_FALSE(is_canonical_path(path)) << path;
  }
}

TEST(CanonicalPath, EmptySegment_IsNotCanonical) {
  for (const char* path : {"//users/1", "/users//1", "//", "///", "//ping", "/ping//"}) {
    EXPECT_FALSE(is_canonical_path(path)) << path;
  }
}

// Dot-segments are resolved by nginx before its exact match (RFC 3986
// 5.2.4): served here, "/auth/./login" would be a spelling nginx limits
// and this router would not.
TEST(CanonicalPath, DotSegment_IsNotCanonical) {
  for (const char* path : {"/users/./1", "/users/../ping", "/.", "/..", "/ping/.", "/a/.."}) {
    EXPECT_FALSE(is_canonical_path(path)) << path;
  }
}

TEST(CanonicalPath, NotOriginForm_IsNotCanonical) {
  EXPECT_FALSE(is_canonical_path(""));
  EXPECT_FALSE(is_canonical_path("ping"));
  EXPECT_FALSE(is_canonical_path("*"));
}

}  // namespace
