#include "velocity/models/weight_checkpoint.hpp"

#include <hdf5.h>

#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "io/hdf5_util.hpp"

namespace velofield::models {

namespace {

void check(herr_t status, const std::string& path, const std::string& key, const std::string& what) {
  if (status < 0) fail(path, key, what + ": " + h5::last_error());
}

// Datasets live in nested groups named after the parts of their names ("adam/m/0").
hid_t ensure_parent(hid_t file, const std::string& name, std::vector<h5::Hid>& keep) {
  hid_t loc = file;
  size_t start = 0;
  for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', start)) {
    const std::string part = name.substr(start, slash - start);
    h5::Hid g(h5::exists(loc, part) ? H5Gopen2(loc, part.c_str(), H5P_DEFAULT)
                                    : H5Gcreate2(loc, part.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    loc = g.get();
    keep.push_back(std::move(g));
    start = slash + 1;
  }
  return loc;
}

void collect(hid_t group, const std::string& prefix, Checkpoint& out, const std::string& path) {
  for (const std::string& child : h5::children(group)) {
    const std::string name = prefix.empty() ? child : prefix + "/" + child;
    if (h5::is_group(group, child)) {
      h5::Hid g(H5Gopen2(group, child.c_str(), H5P_DEFAULT));
      collect(g, name, out, path);
      continue;
    }
    h5::Hid ds(H5Dopen2(group, child.c_str(), H5P_DEFAULT));
    if (!ds.valid()) fail(path, name, "cannot open: " + h5::last_error());
    CheckpointArray a;
    a.shape = h5::dims(ds);
    int64_t n = 1;
    for (int64_t d : a.shape) n *= d;
    a.values.resize(static_cast<size_t>(n));
    check(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()), path, name, "cannot read");
    out.arrays[name] = std::move(a);
  }
}

}  // namespace

bool checkpoint_exists(const std::string& path) { return !path.empty() && std::filesystem::exists(path); }

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  const std::string tmp = path + ".tmp";
  {
    h5::Hid file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file.valid()) fail(path, "/", "cannot create the checkpoint file: " + h5::last_error());
    // Scalars are one-element datasets under scalar/ (plain to read back with any HDF5 tool).
    std::map<std::string, CheckpointArray> all = checkpoint.arrays;
    for (const auto& [name, v] : checkpoint.scalars) all["scalar/" + name] = {{1}, {v}};
    for (const auto& [name, a] : all) {
      std::vector<h5::Hid> keep;
      const hid_t parent = ensure_parent(file, name, keep);
      const std::string leaf = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
      std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
      h5::Hid space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
      h5::Hid ds(H5Dcreate2(parent, leaf.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!ds.valid()) fail(path, name, "cannot create: " + h5::last_error());
      check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()), path, name, "cannot write");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail(path, "/", "cannot replace the checkpoint: " + ec.message());
}

Checkpoint read_checkpoint(const std::string& path) {
  h5::Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid()) fail(path, "/", "not a readable HDF5 checkpoint: " + h5::last_error());
  Checkpoint out;
  collect(file, "", out, path);
  for (auto it = out.arrays.begin(); it != out.arrays.end();) {
    if (it->first.rfind("scalar/", 0) == 0 && it->second.values.size() == 1) {
      out.scalars[it->first.substr(7)] = it->second.values[0];
      it = out.arrays.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace velofield::models
