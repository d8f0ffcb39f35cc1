#pragma once
// Small text outputs (reports, tables, timings): written to a temporary name beside the target and
// renamed when complete, so an interrupted run never leaves a file that looks finished.
#include <mpi.h>

#include <string>

namespace velofield {

// Writes `text` to `path`; throws velofield::Error "PATH: KEY: cannot write the WHAT" (KEY: the
// option or config key that named the path; may be empty) and leaves no partial file.
void write_text_file(const std::string& path, const std::string& text, const std::string& key = "",
                     const std::string& what = "file");

// Rank 0 writes (only its `text` is used); every rank learns the outcome, so all ranks throw alike.
// Collective.
void write_text_file_on_rank0(MPI_Comm comm, const std::string& path, const std::string& text,
                              const std::string& key = "", const std::string& what = "file");

}  // namespace velofield
