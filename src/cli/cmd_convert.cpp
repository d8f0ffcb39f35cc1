#include "cli/command.hpp"
#include "core/log.hpp"
#include "core/timers.hpp"
#include "io/h5ad.hpp"

namespace velofield::cli {

Command convert_command() {
  return {"convert", "read an .h5ad and write it back (change compression or chunking)",
          [](Runtime& rt, const std::vector<std::string>& args) {
            std::string in, out;
            WriteOptions wo;
            po::options_description opts("convert options");
            opts.add_options()("in", po::value<std::string>(&in)->required(), "input .h5ad")(
                "out", po::value<std::string>(&out)->required(), "output .h5ad (written to a temporary name, then renamed)")(
                "gzip", po::value<int>(&wo.gzip_level)->default_value(0), "gzip level 1-9 for large arrays (0 = none)")(
                "chunk-rows", po::value<int64_t>(&wo.chunk_rows)->default_value(0),
                "rows per HDF5 chunk for cell-distributed arrays (0 = contiguous unless compressed)");
            po::positional_options_description pos;
            pos.add("in", 1).add("out", 1);
            CommonOptions common;
            Parsed parsed;
            if (!parse(args, opts, pos, "usage: velofield convert IN.h5ad OUT.h5ad [--gzip N] [--chunk-rows N]", "convert",
                       common, rt, parsed))
              return 0;
            if (wo.gzip_level < 0 || wo.gzip_level > 9) throw Error("velofield convert: --gzip: expected 0-9, found " + std::to_string(wo.gzip_level));
            if (wo.chunk_rows < 0) throw Error("velofield convert: --chunk-rows: expected >= 0");
            StageTimer read_timer(rt.comm(), "read");
            Dataset d = read_h5ad(in, rt.comm());
            read_timer.stop(d.n_obs, d.n_vars);
            StageTimer write_timer(rt.comm(), "write");
            write_h5ad(d, out, wo);
            write_timer.stop(d.n_obs, d.n_vars);
            log().info("wrote " + out);
            return 0;
          }};
}

}  // namespace velofield::cli
