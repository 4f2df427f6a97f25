// main() of the binaries' tests: one cluster for the whole binary.
#include "binaries_fixture.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new binaries::Environment);
  return RUN_ALL_TESTS();
}
