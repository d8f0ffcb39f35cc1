#pragma once
// numpy's percentile (method 'linear') of values spread over ranks, exact, in 8 collective rounds:
// the two order statistics it interpolates are found together by a 256-way split of the
// order-preserving integer image of the doubles (each round narrows the candidates 256-fold with
// one all-reduce of 2 × 255 counts), instead of a bisection's 64 rounds, which a busy or large
// machine pays in latency. The result does not depend on the rank count.
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace velofield {

// Collective. local: this rank's values (finite); total: their count over all ranks (> 0);
// percent in [0, 100]. numpy's rule: h = (total − 1)·percent/100, interpolating x[floor h] and
// x[floor h + 1] with its two-sided lerp.
double global_percentile(const std::vector<double>& local, int64_t total, double percent, MPI_Comm comm);

}  // namespace velofield
