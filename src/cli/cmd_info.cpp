#include <cstdio>

#include "cli/command.hpp"
#include "core/log.hpp"
#include "data/summary.hpp"
#include "io/h5ad.hpp"

namespace velofield::cli {

Command info_command() {
  return {"info", "summarise an .h5ad file (shape, slots, dtypes)", [](Runtime& rt, const std::vector<std::string>& args) {
            std::string file;
            po::options_description opts("info options");
            opts.add_options()("file", po::value<std::string>(&file)->required(), "the .h5ad file");
            po::positional_options_description pos;
            pos.add("file", 1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield info FILE.h5ad", "info", common, rt, parsed)) return 0;
            ReadOptions ro;
            Dataset d = read_h5ad(file, rt.comm(), ro);
            const std::string text = summarize(d);
            if (rt.rank() == 0) std::fputs(text.c_str(), stdout);
            return 0;
          }};
}

}  // namespace velofield::cli
