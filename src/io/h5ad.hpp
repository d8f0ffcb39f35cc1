#pragma once
// AnnData .h5ad reader and writer on parallel HDF5, following the anndata on-disk specification
// (encoding-type / encoding-version attributes), plus the legacy layouts anndata still reads.
//
// Reading: every rank reads only its row slab of obs-distributed slots (X, layers, obsm, obs,
// obsp): for CSR the indptr slice, then hyperslabs of data/indices, collectively. var, varm, varp
// and uns are replicated.
// Writing: rank 0 lays out the file (groups, attributes, string datasets, replicated data, and
// the distributed datasets at their full sizes), then every rank writes its slab collectively
// through MPI-IO. Output goes to a temporary name beside the target, renamed when complete.
#include <mpi.h>

#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace velofield {

struct ReadOptions {
  // Layers (or "X") that must be present and hold counts: finite and non-negative.
  std::vector<std::string> count_layers;
  bool read_obsp = true;
};

struct WriteOptions {
  int gzip_level = 0;       // 0 = no compression (anndata's default); 1-9 = gzip
  int64_t chunk_rows = 0;   // rows per chunk for obs-distributed arrays; 0 = contiguous unless compressed
  // A checkpoint replaces the checkpoint it was resumed from (safe: the file is written under a
  // temporary name and renamed); any other write over the dataset's own source file is refused.
  bool replace_source = false;
};

// Collective. Throws velofield::Error "FILE: KEY: PROBLEM" on every rank on any bad input.
Dataset read_h5ad(const std::string& path, MPI_Comm comm, const ReadOptions& options = {});
// Collective. Never leaves a partial file at `path`.
void write_h5ad(const Dataset& dataset, const std::string& path, const WriteOptions& options = {});

}  // namespace velofield
