// Findings of the fuzz targets (tests/fuzz), each kept as a test that fails without its fix.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "data/dataset.hpp"
#include "io/h5ad.hpp"
#include "test_support.hpp"

using namespace velofield;

// fuzz_h5ad_bytes: a corrupt global heap (where HDF5 keeps variable-length strings, so every
// attribute and name of an .h5ad) gave "HDF5 failed in H5Aread (strings): bad global heap
// collection signature" without the file's name. Now the message names the file.
TEST(FuzzRegressions, CorruptGlobalHeapNamesTheFile) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/corrupt_heap.h5ad";
  Dataset d = Dataset::create(MPI_COMM_WORLD, 4, 3);
  write_h5ad(d, path);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Every global heap collection starts with the signature "GCOL"; break all of them.
  size_t broken = 0;
  for (size_t at = bytes.find("GCOL"); at != std::string::npos; at = bytes.find("GCOL", at + 4), ++broken)
    bytes.replace(at, 4, "GCOX");
  ASSERT_GT(broken, 0u) << "the file has no global heap: strings are stored differently than this test assumes";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  const std::string message = test::error_of([&] { (void)read_h5ad(path, MPI_COMM_WORLD); });
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find("global heap"), std::string::npos) << message;
}
