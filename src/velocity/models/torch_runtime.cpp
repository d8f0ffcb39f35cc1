#include "velocity/models/torch_runtime.hpp"

#include <ATen/Parallel.h>
#include <torch/version.h>

namespace velofield::models {

void set_torch_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

std::string torch_version() { return TORCH_VERSION; }

}  // namespace velofield::models
