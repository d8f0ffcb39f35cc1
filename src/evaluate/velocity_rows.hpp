#pragma once
// Row access to a velocity slot of any layout (CSR or dense) and numeric dtype, and the cosine the
// metrics use. Velocities may hold NaN: dynamo writes NaN for the genes it did not fit.
#include <cmath>
#include <cstdint>
#include <vector>

#include "data/matrix.hpp"

namespace velofield {

class RowReader {
 public:
  explicit RowReader(const Matrix& m) : m_(m) {}
  int64_t rows() const { return matrix_rows(m_); }
  int64_t cols() const { return matrix_cols(m_); }
  bool sparse() const { return std::holds_alternative<CsrMatrix>(m_); }
  // Row `r` (local) into out[0 .. cols): entries a CSR row does not store are 0.
  void read(int64_t r, double* out) const;
  // The columns a CSR row stores (for a dense slot: none; use read()).
  void stored_columns(int64_t r, std::vector<int64_t>& cols) const;

 private:
  const Matrix& m_;
};

// Dot product and squared norms over the entries finite in both vectors.
struct CosineParts {
  double dot = 0, norm_a = 0, norm_b = 0;
  void add(double a, double b) {
    if (!std::isfinite(a) || !std::isfinite(b)) return;
    dot += a * b;
    norm_a += a * a;
    norm_b += b * b;
  }
  // sklearn's convention (used by the VeloAE / UniTVelo metrics): a zero vector has cosine 0.
  double cosine() const { return norm_a > 0 && norm_b > 0 ? dot / std::sqrt(norm_a * norm_b) : 0.0; }
};

inline double cosine(const double* a, const double* b, int64_t n) {
  CosineParts p;
  for (int64_t i = 0; i < n; ++i) p.add(a[i], b[i]);
  return p.cosine();
}

}  // namespace velofield
