#pragma once
// Training state as a plain HDF5 file (no torch pickle): named float64 arrays with their shapes and
// named scalars, written by rank 0 to a temporary file then renamed, so a job killed while writing
// still finds the previous checkpoint intact.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace velofield::models {

struct CheckpointArray {
  std::vector<int64_t> shape;
  std::vector<double> values;   // float64 holds float32 weights exactly
};

struct Checkpoint {
  std::map<std::string, CheckpointArray> arrays;   // "state/l1.weight", "adam/m/0", "history/loss" ...
  std::map<std::string, double> scalars;           // epoch, step, best validation loss ...
};

// Serial (one process); throws velofield::Error naming the path on failure.
void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Checkpoint read_checkpoint(const std::string& path);
bool checkpoint_exists(const std::string& path);

}  // namespace velofield::models
