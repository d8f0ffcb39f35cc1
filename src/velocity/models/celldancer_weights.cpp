// Reading cellDancer's converted weights (HDF5, no torch) and the random fallback.
#include <hdf5.h>

#include <cmath>

#include "core/error.hpp"
#include "io/hdf5_util.hpp"
#include "velocity/models/celldancer_network.hpp"
#include "velocity/models/keyed_random.hpp"

namespace velofield::models {

namespace {

std::vector<float> read_dataset(hid_t file, const std::string& path, const std::string& name, const std::vector<int64_t>& shape) {
  if (!h5::exists(file, name)) fail(path, name, "missing: not a cellDancer weight file (see reference/celldancer/README.md)");
  h5::Hid ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (h5::dims(ds) != shape) fail(path, name, "unexpected shape for cellDancer's 2-100-100-3 network");
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> out(static_cast<size_t>(n));
  if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    fail(path, name, "cannot read: " + h5::last_error());
  for (float v : out)
    if (!std::isfinite(v)) fail(path, name, "holds a non-finite value");
  return out;
}

}  // namespace

CellDancerNet read_celldancer_net(const std::string& path) {
  h5::Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) fail(path, "/", "cannot open as HDF5: " + h5::last_error());
  const int64_t h = kCellDancerHidden;
  return {read_dataset(file, path, "l1.weight", {h, 2}), read_dataset(file, path, "l1.bias", {h}),
          read_dataset(file, path, "l2.weight", {h, h}), read_dataset(file, path, "l2.bias", {h}),
          read_dataset(file, path, "l3.weight", {3, h}), read_dataset(file, path, "l3.bias", {3})};
}

CellDancerNet random_celldancer_net(uint64_t seed) {
  KeyedStream rng(key_hash(seed, static_cast<uint64_t>(Stream::init), 0));
  auto uniform = [&](int64_t n, int64_t fan_in) {
    std::vector<float> v(static_cast<size_t>(n));
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (float& x : v) x = static_cast<float>((2 * rng.uniform() - 1) * bound);
    return v;
  };
  const int64_t h = kCellDancerHidden;
  CellDancerNet net;
  net.l1_weight = uniform(h * 2, 2);
  net.l1_bias = uniform(h, 2);
  net.l2_weight = uniform(h * h, h);
  net.l2_bias = uniform(h, h);
  net.l3_weight = uniform(3 * h, h);
  net.l3_bias = uniform(3, h);
  return net;
}

}  // namespace velofield::models
