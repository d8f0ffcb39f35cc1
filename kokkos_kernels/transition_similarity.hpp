#pragma once
// The transition kernel of dynamo's cell_velocities (pearson / cosine), per cell row: the similarity
// between a cell's transformed velocity and the transformed displacements to each cell of its
// neighbourhood, over the transition genes. Kokkos-free header: callers outside kokkos_kernels/
// do not compile Kokkos; the functors are in transition_similarity_functor.hpp.
#include <cstdint>

namespace velofield::kernels {

// Elementwise transform applied to velocity v and displacement d = x_j - x_i (dynamo's names):
//   sqrt:     sign·sqrt|.|                       log:    sign·log1p|.|
//   logratio: v → log1p|x_i + v| − log1p|x_i|,   d → log1p|x_j| − log1p|x_i|
//   linear:   identity
enum class SimilarityTransform : int { sqrt = 0, log = 1, logratio = 2, linear = 3 };
// pearson: correlation over genes (both vectors centred by their mean over genes); cosine: the same
// without centring.
enum class SimilarityMeasure : int { pearson = 0, cosine = 1 };

// Expressions come from two row-major tables of `genes` values per row: `rows` (the rank's cells,
// which may be the input layer itself) and `halo` (cells of other ranks). A row index r below
// n_rows is rows[r], otherwise halo[r − n_rows]. A cell's own row (cell_row[i], in `rows`) may
// appear in its list, where the displacement is 0 and the similarity is 0.
template <class Value>
struct SimilarityInput {
  int64_t cells = 0, genes = 0, n_rows = 0, n_halo = 0;
  const Value* rows = nullptr;            // n_rows × genes
  const Value* halo = nullptr;            // n_halo × genes
  const Value* velocity = nullptr;        // cells × genes
  const int64_t* cell_row = nullptr;      // cells: the row of `rows` holding the cell itself
  const int64_t* offsets = nullptr;       // cells + 1: neighbour list of cell i = [offsets[i], offsets[i+1])
  const int64_t* neighbor_row = nullptr;  // offsets[cells] row indices
};

// Writes one similarity per neighbour entry (offsets[cells] values). As in dynamo: a cell whose
// velocity sums to exactly 0 over the genes, or whose (centred, for pearson) transformed velocity
// has norm 0, gets 0 for every neighbour; a neighbour whose (centred) transformed displacement has
// norm 0 gets 0 (dynamo's NaN set to 0). No epsilon anywhere. Sums are accumulated in double.
// Host pointers; copies to the default execution space's memory when that is not host memory.
template <class Value>
void transition_similarity(const SimilarityInput<Value>& input, SimilarityTransform transform,
                           SimilarityMeasure measure, double* similarity);

}  // namespace velofield::kernels
