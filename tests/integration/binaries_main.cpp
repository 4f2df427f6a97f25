// main() of the binaries' tests: one cluster for the whole binary.
#include "binaries_fixture.hpp"
#include "support/openapi_check.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Every response these tests receive must be one the OpenAPI document allows.
  support::check_every_response_against_openapi(
      [](const std::string& problem) { ADD_FAILURE() << "OpenAPI: " << problem; });
  ::testing::AddGlobalTestEnvironment(new binaries::Environment);
  return RUN_ALL_TESTS();
}
