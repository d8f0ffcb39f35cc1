#pragma once
// The output is checked before any work: a directory that does not accept files or a disk too
// small for the result would otherwise be found only when the result is written, hours later.
#include <mpi.h>

#include <cstdint>
#include <string>

namespace velofield {

// Collective. Throws, on every rank, "OUTPUT: KEY: PROBLEM" when the output's directory does not
// exist, does not accept a new file (tried by creating and removing one: permission bits do not
// stop root, a read-only mount does), when the output path is a directory, or when its filesystem
// has fewer than `needed_bytes` free. VELOFIELD_FREE_BYTES=N replaces the free-space figure of
// statvfs (a testing hook: a full disk without filling one).
void check_output_space(MPI_Comm comm, const std::string& output, const std::string& key, uint64_t needed_bytes);

// Collective. Throws on every rank when the filesystem of `output` has fewer than `bytes` free
// (statvfs; VELOFIELD_FREE_BYTES does not apply): the writer's check before it creates the file,
// since HDF5 cannot cleanly close a file whose writes failed for want of space.
void check_free_space(MPI_Comm comm, const std::string& output, uint64_t bytes);

// A lower bound of the space a run needs beside its output: the output holds every slot of the
// input, and while a checkpoint or the result is written, the previous checkpoint and the new
// temporary file exist together. Stages only add slots, so twice the input (once without
// checkpoints) is the least a run can need; 0 when the input does not exist (it is simulated).
uint64_t minimum_output_bytes(const std::string& input, bool checkpoints);

}  // namespace velofield
