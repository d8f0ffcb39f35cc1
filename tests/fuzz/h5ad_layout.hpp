#pragma once
// Writes an AnnData-like HDF5 file whose layout is decided by fuzz input: which groups exist,
// dataset names, element types, shapes, sparse indptr/indices values, encoding attributes and
// dataframe column kinds. Most choices are valid anndata with one thing wrong, so the fuzzer
// reaches the reader's checks instead of stopping at "not an AnnData file".
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

namespace velofield::fuzz {

// Returns false when HDF5 refused to create the file (then there is nothing to read).
bool write_fuzzed_h5ad(FuzzedDataProvider& in, const std::string& path);

}  // namespace velofield::fuzz
