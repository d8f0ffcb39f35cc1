// velofield diff A.h5ad B.h5ad: do two files hold the same dataset? Exit 0 when they do, 1 with
// the first difference otherwise. --ignore drops uns entries (e.g. the run record's timings).
#include "cli/command.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "io/h5ad.hpp"

namespace velofield::cli {

namespace {
void drop(UnsNode& root, const std::string& path) {
  UnsNode* node = &root;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string key = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (node->kind != UnsNode::Kind::dict) return;
    if (slash == std::string::npos) {
      node->children.erase(key);
      return;
    }
    auto it = node->children.find(key);
    if (it == node->children.end()) return;
    node = &it->second;
    start = slash + 1;
  }
}
}  // namespace

Command diff_command() {
  return {"diff", "compare two .h5ad files slot by slot (exit 0 when identical)",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string a_path, b_path;
            std::vector<std::string> ignore;
            po::options_description opts("diff options");
            opts.add_options()("a", po::value<std::string>(&a_path)->required(), "first .h5ad")(
                "b", po::value<std::string>(&b_path)->required(), "second .h5ad")(
                "ignore", po::value<std::vector<std::string>>(&ignore)->multitoken(),
                "uns entries to leave out, e.g. uns/velofield/timings");
            po::positional_options_description pos;
            pos.add("a", 1).add("b", 1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield diff A.h5ad B.h5ad [--ignore uns/KEY ...]", "diff", common, rt, parsed)) return 0;
            Dataset a = read_h5ad(a_path, rt.comm());
            Dataset b = read_h5ad(b_path, rt.comm());
            for (const auto& path : ignore) {
              const std::string key = path.rfind("uns/", 0) == 0 ? path.substr(4) : path;
              drop(a.uns, key);
              drop(b.uns, key);
            }
            const std::string difference = first_difference(a, b);
            if (difference.empty()) {
              log().info(a_path + " and " + b_path + " hold the same dataset");
              return 0;
            }
            log().info(a_path + " and " + b_path + " differ: " + difference);
            return 1;
          }};
}

}  // namespace velofield::cli
