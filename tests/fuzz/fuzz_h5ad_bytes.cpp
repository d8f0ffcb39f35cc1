// libFuzzer target (raw bytes): the input is written as a file and read by read_h5ad on one rank.
// Seeds are real .h5ad files, so mutations are corrupt HDF5 metadata and data; most of what this
// reaches is libhdf5's own parser (not instrumented here), so it runs briefly in CI and longer in
// jobs/fuzz.sh. Findings: a crash, an ASan/UBSan report in velofield code, an exception other
// than velofield::Error, or an error message that does not name the file.
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/error.hpp"
#include "fuzz_runtime.hpp"
#include "io/h5ad.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  velofield::fuzz::start_runtime();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = velofield::fuzz::scratch_dir() + "/bytes.h5ad";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    (void)velofield::read_h5ad(path, MPI_COMM_SELF);
  } catch (const velofield::Error& e) {
    if (!velofield::fuzz::is_clear_error(e.what(), path)) {
      std::fprintf(stderr, "unclear error message: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
