// libFuzzer target (structure-aware): the fuzz input decides an AnnData layout (see
// h5ad_layout.hpp), written with HDF5 to a scratch file and read by read_h5ad on one rank.
// Findings: a crash, an ASan/UBSan report, an exception other than velofield::Error, an error
// message that does not name the file on one line, and a file that reads but does not survive
// write_h5ad → read_h5ad unchanged (the writer must reproduce whatever the reader accepted).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>

#include "core/error.hpp"
#include "fuzz_runtime.hpp"
#include "h5ad_layout.hpp"
#include "io/h5ad.hpp"

using velofield::fuzz::scratch_dir;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  velofield::fuzz::start_runtime();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string path = scratch_dir() + "/input.h5ad", copy = scratch_dir() + "/copy.h5ad";
  try {
    if (!velofield::fuzz::write_fuzzed_h5ad(in, path)) return -1;
  } catch (const velofield::Error&) {
    return -1;   // HDF5 refused a name or shape: not an input the reader can see
  }
  velofield::ReadOptions options;
  if (in.ConsumeBool()) options.count_layers.push_back(in.ConsumeBool() ? "spliced" : "X");
  options.read_obsp = in.ConsumeBool();
  velofield::Dataset d;
  try {
    d = velofield::read_h5ad(path, MPI_COMM_SELF, options);
  } catch (const velofield::Error& e) {
    if (!velofield::fuzz::is_clear_error(e.what(), path)) {
      std::fprintf(stderr, "unclear error message: %s\n", e.what());
      std::abort();
    }
    return 0;
  }
  velofield::write_h5ad(d, copy);
  velofield::ReadOptions again;
  again.read_obsp = options.read_obsp;
  const velofield::Dataset back = velofield::read_h5ad(copy, MPI_COMM_SELF, again);
  const std::string difference = velofield::first_difference(d, back);
  if (!difference.empty()) {
    std::fprintf(stderr, "round trip changed the data: %s\n", difference.c_str());
    std::abort();
  }
  return 0;
}
