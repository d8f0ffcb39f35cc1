#pragma once
// Cooperative stop on SIGTERM / SIGUSR1 (Slurm's --signal, a scheduler's pre-emption): the handler
// only sets a flag; the pipeline runner checks it between stages (long loops may check it too),
// leaves a valid checkpoint and exits with kExitRequeue so a job script can requeue.
#include <mpi.h>

namespace velofield {

constexpr int kExitRequeue = 75;   // EX_TEMPFAIL: "try again later"

void install_interrupt_handlers();
// The signal received on this rank, 0 when none. Not collective.
int interrupt_signal();
// Collective: the signal any rank received (max), 0 when none. Every rank decides alike.
int interrupt_requested(MPI_Comm comm);

}  // namespace velofield
