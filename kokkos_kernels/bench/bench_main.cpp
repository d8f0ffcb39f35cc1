// velofield_kernel_bench: the kernel micro-benchmarks and the device's own rates, then a roofline
// table: each kernel's achieved GFLOP/s and GB/s as fractions of the measured DGEMM and copy
// rates, and the fraction of whichever bound binds (the larger of the two).
//   velofield_kernel_bench [--scale=ci|gpu] [Google Benchmark flags] [--kokkos-... flags]
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace velofield::kernels::bench {
namespace {

struct Rates {
  double seconds = 0, flops = 0, bytes = 0;
};

// Prints the usual console lines and keeps each run's rates for the table.
class RooflineReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      // The family name, without the "/real_time" suffix UseRealTime appends.
      const std::string name = r.run_name.function_name;
      Rates& x = rates_[name];
      x.seconds = r.real_accumulated_time / static_cast<double>(r.iterations);
      auto get = [&](const char* key) {
        auto it = r.counters.find(key);
        return it == r.counters.end() ? 0.0 : it->second.value;
      };
      x.flops = get("FLOP/s");
      x.bytes = get("B/s");
      order_.push_back(name);
    }
  }

  void PrintTable() const {
    const Rates* gemm = find("rate/dgemm");
    const Rates* copy = find("rate/copy");
    char gemm_text[64] = "not measured (no vendor BLAS)", copy_text[64] = "not measured";
    if (gemm) std::snprintf(gemm_text, sizeof gemm_text, "%.1f GFLOP/s", gemm->flops / 1e9);
    if (copy) std::snprintf(copy_text, sizeof copy_text, "%.1f GB/s", copy->bytes / 1e9);
    std::printf("\nRoofline (backend %s): DGEMM %s, copy %s\n", Exec::name(), gemm_text, copy_text);
    std::printf("%-40s %10s %10s %8s %10s %8s %9s %s\n", "kernel", "ms/iter", "GFLOP/s", "%DGEMM", "GB/s", "%copy",
                "%bound", "binds");
    for (const std::string& name : order_) {
      if (name.rfind("rate/", 0) == 0) continue;
      const Rates& r = rates_.at(name);
      const double pf = gemm ? 100 * r.flops / gemm->flops : -1, pb = copy ? 100 * r.bytes / copy->bytes : -1;
      const bool compute = pf >= pb;
      std::printf("%-40s %10.3f %10.1f %8s %10.1f %8s %9.1f %s\n", name.c_str(), 1e3 * r.seconds, r.flops / 1e9,
                  pf < 0 ? "n/a" : std::to_string(static_cast<int>(pf + 0.5)).c_str(), r.bytes / 1e9,
                  pb < 0 ? "n/a" : std::to_string(static_cast<int>(pb + 0.5)).c_str(), compute ? pf : pb,
                  compute ? "compute" : "memory");
    }
    if (const Rates* h2d = find("rate/h2d"))
      std::printf("host->device copy (paid once per input by the host entry points): %.1f GB/s\n", h2d->bytes / 1e9);
  }

 private:
  const Rates* find(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? nullptr : &it->second;
  }
  std::map<std::string, Rates> rates_;
  std::vector<std::string> order_;
};

}  // namespace
}  // namespace velofield::kernels::bench

int main(int argc, char** argv) {
  using namespace velofield::kernels::bench;
  Scale scale;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scale=gpu") == 0) scale.gpu = true;
    else if (std::strcmp(argv[i], "--scale=ci") == 0) scale.gpu = false;
    else args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  Kokkos::initialize(n, args.data());
  {
    std::printf("Kokkos backend %s, scale %s (%lld cells)\n", Exec::name(), scale.gpu ? "gpu" : "ci",
                static_cast<long long>(scale.cells()));
    register_rate_probes(scale);
    register_knn_tile(scale);
    register_gaussian_kernel_block(scale);
    register_transition_similarity(scale);
    register_moment_smoothing(scale);
    register_rkhs_field(scale);
    benchmark::Initialize(&n, args.data());
    RooflineReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.PrintTable();
    benchmark::Shutdown();
  }
  Kokkos::finalize();
  return 0;
}
