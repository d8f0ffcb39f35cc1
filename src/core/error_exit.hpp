#pragma once
// How main() ends a run on an error. A velofield::Error is normally agreed (every rank throws it
// together), but a rank can also fail alone — a bug, a fault, a check on local data that someone
// forgot to agree — while the others wait in a collective call and would hang forever. So the
// ranks that caught an error wait a short grace period for all the others to catch one too (a
// non-blocking barrier on a communicator of its own); if they all do, rank 0 prints the message
// once and the run exits 1; if not, the failing rank prints it and aborts the whole job.
#include <mpi.h>

#include <string>

namespace velofield {

// Collective, once, right after MPI is initialised: the communicator the grace barrier uses, so
// that it never matches a collective call of the computation.
void prepare_error_exit(MPI_Comm world);

// Called by every rank that caught an error, with the message. Returns the exit code (1) when
// every rank failed within the grace period; otherwise prints the message and aborts the job with
// exit code 1 (never returns).
int exit_on_error(const std::string& message);

// Seconds a failing rank waits for the others before aborting the job.
constexpr double kErrorGraceSeconds = 5.0;

}  // namespace velofield
