#pragma once
// Which fitted genes the transition matrix uses (var.use_for_transition).
#include <cstdint>
#include <string>
#include <vector>

namespace velofield {

// dynamo's use_for_transition for conventional data (spec 3.6): gamma > min_gamma and
// gamma_r2 > min_r2 among use_for_dynamics (NaN compares false). When fewer than 5 genes pass (and
// there are more than 5 genes), the 50 fitted genes of largest |gamma_r2| instead — the true top
// genes (dynamo's fallback ranks a compacted list and applies the ranks as var positions, a bug),
// and all fitted genes when fewer than 50 (dynamo raises). `note` says when the fallback was used.
std::vector<uint8_t> transition_genes(const std::vector<double>& gamma, const std::vector<double>& gamma_r2,
                                      const std::vector<uint8_t>& use_for_dynamics, double min_gamma, double min_r2,
                                      std::string* note);

}  // namespace velofield
