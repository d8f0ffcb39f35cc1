// SparseVFC's field and its derivatives at every cell, M = 2,000 control points: values and
// Jacobian-vector products in PCA dimension 30, full Jacobians in a 2-d embedding (O(M·d²) per
// cell). Counted work per (cell, centre): values 5d + 1 flops, products 7d + 2, Jacobians
// 3d² + 4d + 1 (exponentials not counted); bytes: the points in, the results out, the field once.
#include <string>

#include "bench_support.hpp"
#include "rkhs_field_functor.hpp"

namespace velofield::kernels::bench {

namespace rkhs {
enum class What { values, products, jacobians };

void run(benchmark::State& state, What what, int64_t points, int64_t centres, int64_t dim) {
  Kokkos::View<double*, Mem> ctrl("rkhs ctrl", static_cast<size_t>(centres * dim)), coef("rkhs coef", static_cast<size_t>(centres * dim));
  Kokkos::View<double*, Mem> x("rkhs x", static_cast<size_t>(points * dim)), v("rkhs v", static_cast<size_t>(points * dim));
  const int64_t out_width = what == What::jacobians ? dim * dim : dim;
  Kokkos::View<double*, Mem> out("rkhs out", static_cast<size_t>(points * out_width));
  fill_uniform(ctrl, 51, 0, 1);
  fill_uniform(coef, 52, -1, 1);
  fill_uniform(x, 53, 0, 1);
  fill_uniform(v, 54, -1, 1);
  const RkhsFieldView<Mem> field{ctrl, coef, centres, dim, 2.0};
  const Kokkos::RangePolicy<Exec> policy(0, points);
  for (auto _ : state) {
    if (what != What::jacobians) rkhs_field_launch<Exec>(field, points, x, v, out, what == What::products);
    else Kokkos::parallel_for("velofield::rkhs_field_jacobians", policy, RkhsJacobiansFunctor<Mem>{field, x, out});
    Kokkos::fence();
  }
  const double d = static_cast<double>(dim), pm = static_cast<double>(points) * static_cast<double>(centres);
  const double per = what == What::values ? 5 * d + 1 : what == What::products ? 7 * d + 2 : 3 * d * d + 4 * d + 1;
  const double inputs = what == What::products ? 2 * d : d;
  set_work(state, per * pm, static_cast<double>(points) * (inputs + static_cast<double>(out_width)) * sizeof(double) +
                                2 * static_cast<double>(centres) * d * sizeof(double));
}
}  // namespace rkhs

void register_rkhs_field(const Scale& scale) {
  const int64_t points = scale.cells(), centres = scale.gpu ? 2000 : 200;
  auto add = [&](const std::string& name, rkhs::What what, int64_t dim) {
    benchmark::RegisterBenchmark(("rkhs_field/" + name).c_str(),
                                 [=](benchmark::State& s) { rkhs::run(s, what, points, centres, dim); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  };
  add("values_dim30", rkhs::What::values, 30);
  add("jacobian_vector_dim30", rkhs::What::products, 30);
  add("jacobians_dim2", rkhs::What::jacobians, 2);
}

}  // namespace velofield::kernels::bench
