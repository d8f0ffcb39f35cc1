#include "simulate/simulation_keys.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/log.hpp"

namespace velofield {

const std::vector<SimulationKey>& simulation_keys() {
  static const std::vector<SimulationKey> keys{
      {"cells", "3000", "number of cells"},
      {"genes", "200", "number of genes"},
      {"lineages", "2", "number of lineages the trunk splits into (1 = a linear trajectory)"},
      {"seed", "0", "random seed (0 .. 2^63-1); the data depend only on the seed and options, not on the rank count"},
      {"density", "0.1", "target fraction of nonzero spliced counts (sets the transcription scale; met in expectation)"},
      {"noise", "poisson", "count noise: poisson | nb (negative binomial)"},
      {"nb-theta", "5", "negative binomial inverse dispersion theta: variance = mean + mean^2/theta"},
      {"noise-free", "false", "store the expected abundances (float, library size 1) instead of sampled counts", true},
      {"library-size-sd", "0.3", "sd of the per-cell log library-size factor (its mean is 1)"},
      {"branch-time", "0.4", "fraction of the time axis [0, 10] spent on the trunk before it branches"},
      {"lineage-gene-fraction", "0.5", "fraction of genes induced on one lineage only"},
      {"layout-noise", "0.25", "sd of the X_true_2d scatter across the tree path (time units)"},
      {"truth-max-entries", "100000000",
       "true_velocity_S is dense over all genes when cells*genes <= this, else a CSR layer over an evenly spaced gene "
       "subset of floor(this/cells) genes (listed in uns/simulation/true_velocity_genes)"},
  };
  return keys;
}

namespace {

std::string number(double v) { return cat(v); }

std::string list_keys() {
  std::string out;
  for (const auto& k : simulation_keys()) out += (out.empty() ? "" : ", ") + k.name;
  return out;
}

double parse_double(const std::string& source, const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    fail(source, key, "expected a number, found '" + text + "'");
  return v;
}

long long parse_int(const std::string& source, const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  // Accept 1e6-style integers too: cell counts are written that way.
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (!text.empty() && *end != '\0') {
    const double d = parse_double(source, key, text);
    if (d != std::floor(d) || std::fabs(d) > 9.2e18) fail(source, key, "expected an integer, found '" + text + "'");
    return static_cast<long long>(d);
  }
  if (text.empty() || errno == ERANGE) fail(source, key, "expected an integer, found '" + text + "'");
  return v;
}

bool parse_bool(const std::string& source, const std::string& key, const std::string& text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  fail(source, key, "expected true or false, found '" + text + "'");
}

}  // namespace

SimulationOptions simulation_options_from(const std::map<std::string, std::string>& values, const std::string& source) {
  SimulationOptions o;
  o.source = source;
  for (const auto& [key, value] : values) {
    bool known = false;
    for (const auto& k : simulation_keys()) known = known || k.name == key;
    if (!known) fail(source, key, "unknown key (simulate takes: " + list_keys() + ")");
  }
  auto get = [&](const std::string& key) -> std::string {
    auto it = values.find(key);
    if (it != values.end()) return it->second;
    for (const auto& k : simulation_keys())
      if (k.name == key) return k.default_value;
    return "";
  };
  o.n_cells = parse_int(source, "cells", get("cells"));
  o.n_genes = parse_int(source, "genes", get("genes"));
  const long long lineages = parse_int(source, "lineages", get("lineages"));
  if (lineages < 1 || lineages > 100000) fail(source, "lineages", "expected 1 .. 100000, found " + get("lineages"));
  o.n_lineages = static_cast<int>(lineages);
  const long long seed = parse_int(source, "seed", get("seed"));
  if (seed < 0) fail(source, "seed", "expected 0 .. 2^63-1, found " + get("seed"));
  o.seed = static_cast<uint64_t>(seed);
  o.density = parse_double(source, "density", get("density"));
  o.noise = get("noise");
  o.nb_theta = parse_double(source, "nb-theta", get("nb-theta"));
  o.noise_free = parse_bool(source, "noise-free", get("noise-free"));
  o.library_size_sd = parse_double(source, "library-size-sd", get("library-size-sd"));
  o.branch_time = parse_double(source, "branch-time", get("branch-time"));
  o.lineage_gene_fraction = parse_double(source, "lineage-gene-fraction", get("lineage-gene-fraction"));
  o.layout_noise = parse_double(source, "layout-noise", get("layout-noise"));
  o.truth_max_entries = parse_int(source, "truth-max-entries", get("truth-max-entries"));
  validate(o);
  return o;
}

void validate(const SimulationOptions& o) {
  const std::string& src = o.source;
  if (o.n_cells < 1) fail(src, "cells", "expected at least 1, found " + std::to_string(o.n_cells));
  if (o.n_genes < 1) fail(src, "genes", "expected at least 1, found " + std::to_string(o.n_genes));
  if (o.n_genes > 2147483647) fail(src, "genes", "at most 2^31-1 genes (CSR column indices are int32)");
  if (o.n_lineages < 1) fail(src, "lineages", "expected at least 1");
  if (o.seed > static_cast<uint64_t>(INT64_MAX)) fail(src, "seed", "expected 0 .. 2^63-1 (it is stored as int64 in uns)");
  if (!(o.density > 0 && o.density < 1)) fail(src, "density", "expected a fraction in (0, 1), found " + number(o.density));
  if (o.noise != "poisson" && o.noise != "nb") fail(src, "noise", "expected poisson or nb, found '" + o.noise + "'");
  if (!(o.nb_theta > 0)) fail(src, "nb-theta", "expected > 0, found " + number(o.nb_theta));
  if (!(o.library_size_sd >= 0 && o.library_size_sd <= 3))
    fail(src, "library-size-sd", "expected 0 .. 3, found " + number(o.library_size_sd));
  if (!(o.branch_time > 0 && o.branch_time < 1))
    fail(src, "branch-time", "expected a fraction in (0, 1), found " + number(o.branch_time));
  if (!(o.lineage_gene_fraction >= 0 && o.lineage_gene_fraction <= 1))
    fail(src, "lineage-gene-fraction", "expected a fraction in [0, 1], found " + number(o.lineage_gene_fraction));
  if (!(o.layout_noise >= 0)) fail(src, "layout-noise", "expected >= 0, found " + number(o.layout_noise));
  if (o.truth_max_entries < 0) fail(src, "truth-max-entries", "expected >= 0");
}

}  // namespace velofield
