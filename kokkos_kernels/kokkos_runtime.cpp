#include "kokkos_runtime.hpp"

#include <Kokkos_Core.hpp>
#include <string>
#include <vector>

namespace velofield::kernels {

void initialize_kokkos(int& argc, char** argv, int threads) {
  if (Kokkos::is_initialized()) return;
  // Kokkos 3.7 renamed --kokkos-threads to --kokkos-num-threads, and 4.x no longer knows the old
  // name (it warns and ignores it: an OpenMP build would then take every core on each rank). A
  // user's own --kokkos-* flags come later in argv and win.
#if KOKKOS_VERSION >= 30700
  const std::string threads_flag = "--kokkos-num-threads=";
#else
  const std::string threads_flag = "--kokkos-threads=";
#endif
  std::vector<std::string> storage{argc > 0 ? argv[0] : "velofield", threads_flag + std::to_string(threads)};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--kokkos-", 0) == 0) storage.push_back(a);
  }
  std::vector<char*> args;
  for (auto& s : storage) args.push_back(s.data());
  int n = static_cast<int>(args.size());
  Kokkos::initialize(n, args.data());
}

void finalize_kokkos() {
  if (Kokkos::is_initialized()) Kokkos::finalize();
}

std::string kokkos_version() {
  const int v = KOKKOS_VERSION;
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

std::string kokkos_backend() { return Kokkos::DefaultExecutionSpace::name(); }

}  // namespace velofield::kernels
