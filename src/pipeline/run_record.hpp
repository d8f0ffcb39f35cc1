#pragma once
// The record of a pipeline run kept in the output file as uns['velofield']: what made the file
// (version, config and its hash, input and its checksum, ranks), which stages completed and their
// timings. It is what `velofield run --resume` checks before continuing from a checkpoint.
#include <mpi.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/timers.hpp"
#include "data/dataset.hpp"

namespace velofield {

struct RunRecord {
  std::string version;
  std::string config_text;       // canonical: "section.key = value" lines, sorted
  std::string config_hash;       // XXH3-64 of config_text, hex
  std::string input;
  std::string input_checksum;    // XXH3-64 over the file in 64 MiB blocks, hex; "simulated" when simulated
  int ranks = 1;
  bool complete = false;         // all configured stages done and the final file written
  std::vector<std::string> completed_stages;
  std::vector<StageRecord> timings;
};

// The canonical text of the settings that decide the result ([run] output and the resume flag
// excluded: moving the output does not change what is computed).
std::string canonical_config(const Config& config);
std::string hash_hex(const std::string& text);
// Collective: ranks hash interleaved 64 MiB blocks; the result does not depend on the rank count.
std::string file_checksum(const std::string& path, MPI_Comm comm);

void store_run_record(Dataset& dataset, const RunRecord& record);
// Throws Error naming the file when uns['velofield'] is absent or malformed.
RunRecord load_run_record(const Dataset& dataset);

}  // namespace velofield
