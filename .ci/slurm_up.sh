#!/usr/bin/env bash
# Stand up a one-node SLURM cluster on this machine (Debian 12, root, no systemd, no cgroups),
# for the SLURM end-to-end test. Idempotent: stops the daemons it started before (by PID file).
# Recipe and pitfalls: ../shared/notes/snakemake_slurm.md (section 5).
set -euo pipefail
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
bash "$(dirname "$0")/slurm_down.sh"

install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null

NCPU=$(nproc)
MEM=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
MEM=$((MEM * 9 / 10))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MailProg=/bin/true
# no cgroups, no systemd: linuxproc process tracking; task/affinity binds CPUs without cgroups
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
JobAcctGatherType=jobacct_gather/none
# no slurmdbd: the workflow profile queries job states with squeue
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
ReturnToService=2
# finished jobs stay visible to squeue for 10 min (status queries without sacct)
MinJobAge=600
# reject impossible requests at sbatch time instead of leaving them PENDING forever
EnforcePartLimits=ALL
SchedulerParameters=sched_interval=2,bf_interval=2
# short RPC timeout: bounds the delay every snakemake start suffers while slurmctld is down
MessageTimeout=2
SlurmdTimeout=30
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${NCPU} RealMemory=${MEM} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
/usr/sbin/slurmctld -c
/usr/sbin/slurmd -N localhost
for _ in $(seq 120); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)$' && break
  sleep 0.25
done
if ! sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)$'; then
  echo "slurm node did not come up" >&2
  sinfo -N -l >&2 || true
  tail -20 /var/log/slurm/slurmd.log /var/log/slurm/slurmctld.log >&2 || true
  exit 1
fi
srun -N1 -n1 -t 1 true
echo "slurm up in $((SECONDS - t0)) s"
