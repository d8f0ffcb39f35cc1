#!/usr/bin/env bash
# A one-node Slurm on this machine for the job-script tests (Debian's slurmctld/slurmd/munge).
# Source it, then: slurm_start WORKDIR; ...; slurm_stop (also on EXIT via the trap it installs).
# Follows ../shared/reference/slurm-local.md: linuxproc/none plugins, pmix MPI, no accounting
# (job state from scontrol and the jobcomp/filetxt log).

slurm_start() {
  SLURM_WORK=$1
  mkdir -p "$SLURM_WORK"/{state,spool,log}
  local cpus mem
  cpus=$(getconf _NPROCESSORS_ONLN)   # not nproc: it honours OMP_NUM_THREADS
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  cat > "$SLURM_WORK/slurm.conf" <<CONF
ClusterName=velofieldci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=${SLURM_CTLD_PORT:-6817}
SlurmdPort=${SLURM_D_PORT:-6818}
StateSaveLocation=$SLURM_WORK/state
SlurmdSpoolDir=$SLURM_WORK/spool
SlurmctldPidFile=$SLURM_WORK/slurmctld.pid
SlurmdPidFile=$SLURM_WORK/slurmd.pid
SlurmctldLogFile=$SLURM_WORK/log/slurmctld.log
SlurmdLogFile=$SLURM_WORK/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_WORK/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=pmix
ReturnToService=2
MinJobAge=300
NodeName=localhost CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$SLURM_WORK/slurm.conf
  mkdir -p /run/munge && chown munge:munge /run/munge
  [ -f /etc/munge/munge.key ] || { mungekey -c && chown munge:munge /etc/munge/munge.key; }
  SLURM_MUNGED_STARTED=0
  if ! munge -n 2>/dev/null | unmunge > /dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged || return 1
    SLURM_MUNGED_STARTED=1
  fi
  /usr/sbin/slurmctld -D > "$SLURM_WORK/log/slurmctld.err" 2>&1 &
  SLURM_CTLD_PID=$!
  /usr/sbin/slurmd -D -N localhost > "$SLURM_WORK/log/slurmd.err" 2>&1 &
  SLURM_D_PID=$!
  trap slurm_stop EXIT
  local i=0
  until [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 150 ]; then echo "local Slurm did not come up:"; tail -5 "$SLURM_WORK"/log/*; return 1; fi
  done
}

slurm_stop() {
  [ -n "${SLURM_D_PID:-}" ] && { kill -TERM "$SLURM_D_PID" 2>/dev/null; wait "$SLURM_D_PID" 2>/dev/null; }
  [ -n "${SLURM_CTLD_PID:-}" ] && { kill -TERM "$SLURM_CTLD_PID" 2>/dev/null; wait "$SLURM_CTLD_PID" 2>/dev/null; }
  if [ "${SLURM_MUNGED_STARTED:-0}" = 1 ] && [ -f /run/munge/munged.pid ]; then
    local m; m=$(cat /run/munge/munged.pid)
    kill -TERM "$m" 2>/dev/null
    while kill -0 "$m" 2>/dev/null; do sleep 0.1; done
  fi
  SLURM_D_PID=; SLURM_CTLD_PID=; SLURM_MUNGED_STARTED=0
}

# Waits until job ID (or every task of an array) has left the queue; prints its final state(s).
slurm_wait() {
  local id=$1 limit=${2:-600} t=0
  while [ -n "$(squeue -h -j "$id" 2>/dev/null)" ]; do
    sleep 0.5; t=$((t + 1))
    [ $t -gt $((limit * 2)) ] && { echo "TIMEOUT waiting for job $id"; scancel "$id"; return 1; }
  done
  grep -E "JobId=$id |ArrayJobId=$id " "$SLURM_WORK/log/jobcomp.txt" | sed -E 's/.*JobId=([0-9]+).*JobState=([A-Z_]+).*ExitCode=([0-9:]+).*/\1 \2 \3/'
}
