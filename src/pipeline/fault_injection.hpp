#pragma once
// A testing hook: VELOFIELD_FAULT="stage=NAME,rank=R[,when=before|after]" makes rank R alone throw
// a velofield::Error right before (default) or right after the pipeline entry NAME runs — the
// failure of one rank in the middle of a job (a bug, a node problem), which the other ranks,
// waiting in the stage's collective calls, must survive without hanging (see core/error_exit.hpp).
// Unset, it costs one getenv per stage.
#include <mpi.h>

#include <string>

namespace velofield {

enum class FaultPoint { before, after };

// Throws on the faulty rank only (by design: nothing is agreed). Throws on every rank when the
// variable is malformed.
void inject_fault(MPI_Comm comm, const std::string& stage_entry, FaultPoint point);

}  // namespace velofield
