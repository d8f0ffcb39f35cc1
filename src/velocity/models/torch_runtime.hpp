#pragma once
// The only door to LibTorch outside the models: thread count and version, without torch/torch.h.
#include <string>

namespace velofield::models {
// Intra-op threads per rank (LibTorch defaults to all cores per process, which oversubscribes
// a node running one rank per core).
void set_torch_threads(int threads);
std::string torch_version();
}  // namespace velofield::models
