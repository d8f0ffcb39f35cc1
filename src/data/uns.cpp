#include "data/uns.hpp"

namespace velofield {

namespace {
const UnsNode* find(const UnsNode& root, const std::string& path) {
  const UnsNode* node = &root;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const std::string key = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (node->kind != UnsNode::Kind::dict) return nullptr;
    auto it = node->children.find(key);
    if (it == node->children.end()) return nullptr;
    node = &it->second;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return node;
}
}  // namespace

const UnsNode& UnsNode::at(const std::string& path) const {
  const UnsNode* n = find(*this, path);
  if (!n) throw Error("uns/" + path + ": not present");
  return *n;
}

bool UnsNode::contains(const std::string& path) const { return find(*this, path) != nullptr; }

bool UnsNode::operator==(const UnsNode& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::dict: return children == o.children;
    case Kind::string: return text == o.text;
    case Kind::string_array: return strings == o.strings && shape == o.shape;
    case Kind::numeric: return array == o.array;
    case Kind::sparse: return sparse == o.sparse;
    case Kind::dataframe: return frame == o.frame;
  }
  return false;
}

}  // namespace velofield
