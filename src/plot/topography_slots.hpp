#pragma once
// dynamo's topography inside uns VecFld_<basis> (spec §6.7), the layout the topography stage writes
// and topography-plot reads:
//   Xss          float (n, 2)      fixed points
//   ftype        int/float (n)     -1 stable, 0 saddle, +1 unstable
//   confidence   float (n)         optional; not drawn (types are)
//   NCx, NCy     dict "0", "1", … → float (k, 2)   pieces of the x- and y-nullclines (f_x = 0, f_y = 0)
//   separatrices dict "0", "1", … → float (k, 2)   optional (dynamo stores None: absent here)
//   xlim, ylim   float (2)         the domain the fixed points were searched in
#include <optional>
#include <string>

#include "data/uns.hpp"
#include "plot/embedding_figure.hpp"

namespace velofield::plot {

// Empty when `vecfld` has no Xss. `where` names the slot in messages ("FILE: uns/VecFld_umap");
// a malformed entry throws velofield::Error naming it.
std::optional<Topography> read_topography(const UnsNode& vecfld, const std::string& where);

// Adds the entries above to `vecfld` (a dict), replacing any there.
void write_topography(UnsNode& vecfld, const Topography& topography);

}  // namespace velofield::plot
