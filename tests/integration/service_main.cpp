// main() of the binaries that test the in-process app: one cluster and one
// app for the whole binary (fixture::Environment).
#include "service_fixture.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new fixture::Environment);
  return RUN_ALL_TESTS();
}
