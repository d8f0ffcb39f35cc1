#include "pipeline/run_record.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "core/error.hpp"

namespace velofield {

std::string hash_hex(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  return buf;
}

std::string canonical_config(const Config& config) {
  std::vector<std::string> lines;
  for (const auto& section : config.sections())
    for (const auto& [key, value] : config.section(section)) {
      if (section == "run" && key == "output") continue;
      lines.push_back(section + "." + key + " = " + value);
    }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string file_checksum(const std::string& path, MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  constexpr int64_t kBlock = 64ll << 20;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const int64_t bytes = in ? static_cast<int64_t>(in.tellg()) : -1;
  agree(comm, bytes >= 0, describe(path, "", "cannot read the file to checksum it"));
  const int64_t blocks = (bytes + kBlock - 1) / kBlock;
  std::vector<unsigned long long> hashes(static_cast<size_t>(blocks), 0);
  std::vector<char> buffer(static_cast<size_t>(std::min(kBlock, std::max<int64_t>(bytes, 1))));
  for (int64_t b = rank; b < blocks; b += size) {
    const int64_t n = std::min(kBlock, bytes - b * kBlock);
    in.seekg(b * kBlock);
    in.read(buffer.data(), n);
    hashes[static_cast<size_t>(b)] = XXH3_64bits(buffer.data(), static_cast<size_t>(n));
  }
  MPI_Allreduce(MPI_IN_PLACE, hashes.data(), static_cast<int>(blocks), MPI_UNSIGNED_LONG_LONG, MPI_BOR, comm);
  const unsigned long long combined = XXH3_64bits(hashes.data(), hashes.size() * sizeof(unsigned long long));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", combined);
  return buf;
}

void store_run_record(Dataset& d, const RunRecord& r) {
  UnsNode n = UnsNode::dict();
  n["version"] = UnsNode::string(r.version);
  n["config"] = UnsNode::string(r.config_text);
  n["config_hash"] = UnsNode::string(r.config_hash);
  n["input"] = UnsNode::string(r.input);
  n["input_checksum"] = UnsNode::string(r.input_checksum);
  n["ranks"] = UnsNode::scalar<int64_t>(r.ranks);
  n["complete"] = UnsNode::scalar<uint8_t>(r.complete ? 1 : 0);
  n["complete"].array.values = n["complete"].array.values.converted(DType::boolean);
  n["completed_stages"] = UnsNode::string_array(r.completed_stages);
  UnsNode timings = UnsNode::dict();
  for (size_t i = 0; i < r.timings.size(); ++i) {
    const StageRecord& s = r.timings[i];
    UnsNode t = UnsNode::dict();
    t["stage"] = UnsNode::string(s.stage);
    t["wall_seconds"] = UnsNode::scalar<double>(s.wall_seconds);
    DenseArray rss;
    rss.shape = {static_cast<int64_t>(s.peak_rss_bytes.size())};
    rss.values = Array::from(s.peak_rss_bytes);
    t["peak_rss_bytes_per_rank"] = UnsNode::numeric(rss);
    t["ranks"] = UnsNode::scalar<int64_t>(s.ranks);
    char key[24];
    std::snprintf(key, sizeof key, "%03zu", i);   // zero-padded: the order survives name-ordered groups
    timings[key] = t;
  }
  n["timings"] = timings;
  d.uns["velofield"] = n;
}

RunRecord load_run_record(const Dataset& d) {
  if (!d.uns.contains("velofield")) fail(d.source, "uns/velofield", "no run record: this file was not written by `velofield run`");
  RunRecord r;
  try {
    const UnsNode& n = d.uns.at("velofield");
    r.version = n.at("version").text;
    r.config_text = n.at("config").text;
    r.config_hash = n.at("config_hash").text;
    r.input = n.at("input").text;
    r.input_checksum = n.at("input_checksum").text;
    r.ranks = static_cast<int>(n.at("ranks").array.values.as_int64(0));
    r.complete = n.at("complete").array.values.as_int64(0) != 0;
    r.completed_stages = n.at("completed_stages").strings;
    for (const auto& [key, t] : n.at("timings").children) {
      StageRecord s;
      s.stage = t.at("stage").text;
      s.wall_seconds = t.at("wall_seconds").array.values.as_double(0);
      s.peak_rss_bytes = t.at("peak_rss_bytes_per_rank").array.values.to_int64();
      s.ranks = static_cast<int>(t.at("ranks").array.values.as_int64(0));
      r.timings.push_back(s);
    }
  } catch (const Error& e) {
    fail(d.source, "uns/velofield", std::string("malformed run record (") + e.what() + ")");
  }
  return r;
}

}  // namespace velofield
