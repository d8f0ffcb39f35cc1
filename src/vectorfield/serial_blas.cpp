#include "vectorfield/serial_blas.hpp"

// Weak: present with OpenBLAS, null with another BLAS (as in core/runtime.cpp).
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace velofield {

SerialBlas::SerialBlas() {
  if (openblas_get_num_threads && openblas_set_num_threads) {
    saved_ = openblas_get_num_threads();
    if (saved_ > 1) openblas_set_num_threads(1);
  }
}

SerialBlas::~SerialBlas() {
  if (saved_ > 1 && openblas_set_num_threads) openblas_set_num_threads(saved_);
}

}  // namespace velofield
