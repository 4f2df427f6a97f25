// main() of the binaries that test the in-process app: one cluster and one
// app for the whole binary (fixture::Environment).
#include "service_fixture.hpp"
#include "support/openapi_check.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Every response these tests receive must be one the OpenAPI document allows.
  support::check_every_response_against_openapi(
      [](const std::string& problem) { ADD_FAILURE() << "OpenAPI: " << problem; });
  ::testing::AddGlobalTestEnvironment(new fixture::Environment);
  return RUN_ALL_TESTS();
}
