#!/usr/bin/env bash
# A real single-node SLURM cluster on loopback for the tests (tests/slurm) and
# for trying the slurm backend by hand, without systemd:
#   scripts/slurm.sh up DIR       installs what is missing (scripts/deps.sh slurm),
#                                 starts munged, slurmctld and slurmd, waits until
#                                 the node is idle
#   scripts/slurm.sh down DIR     cancels every job, stops the three daemons
#   scripts/slurm.sh status DIR   what runs, and sinfo
# Everything lives under DIR: slurm.conf, the munge key and socket, state,
# spool, logs, pid files and DIR/env (source it, or set SLURM_CONF, to use the
# client commands). Nothing goes to /etc: a cluster of the machine's own (the
# default ports 6817/6818, /run/munge) is left alone.
#   SLURM_PORT  slurmctld's port, slurmd takes the next one (default 6917)
#   SLURM_CPUS  CPUs the node declares (default 8; more than the machine has
#               is fine: SlurmdParameters=config_overrides)
#   SLURM_MINJOBAGE  how long scontrol still shows an ended job (default 300 s)
# Idempotent: up on a running cluster checks it, down on a stopped one does
# nothing. Stops only what its own pid files name (never pkill).
set -euo pipefail

cmd=${1:-} dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 up|down|status DIR" >&2
	exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
port=${SLURM_PORT:-6917}
cpus=${SLURM_CPUS:-8}
minjobage=${SLURM_MINJOBAGE:-300}
munge_dir=$dir/munge
conf=$dir/slurm.conf
export SLURM_CONF=$conf

log() { printf 'slurm.sh: %s\n' "$*" >&2; }

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits (bounded: 0.1 s steps) until the command given succeeds.
wait_for() { # tries, command...
	local n=$1
	shift
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# deps.sh only when a command is missing: up must not need apt's lock when
# everything is there (another apt-get may hold it).
install_missing() {
	local c
	for c in munged mungekey slurmctld slurmd sbatch squeue sacct curl; do
		command -v "$c" >/dev/null || {
			"$(dirname "$0")/deps.sh" slurm
			return
		}
	done
}

munge_ok() { munge -S "$munge_dir/munge.socket" -n </dev/null | unmunge -S "$munge_dir/munge.socket"; }

start_munge() {
	install -d -o munge -g munge -m 0755 "$munge_dir"
	if [ ! -s "$munge_dir/munge.key" ]; then
		mungekey --create --keyfile="$munge_dir/munge.key"
		chown munge:munge "$munge_dir/munge.key"
		chmod 0400 "$munge_dir/munge.key"
	fi
	if pid_alive "$munge_dir/munged.pid"; then
		return
	fi
	rm -f "$munge_dir/munge.socket" "$munge_dir/munge.socket.lock"
	# munged forks into the background once its socket listens.
	runuser -u munge -- munged --socket="$munge_dir/munge.socket" \
		--key-file="$munge_dir/munge.key" --pid-file="$munge_dir/munged.pid" \
		--log-file="$munge_dir/munged.log" --seed-file="$munge_dir/munged.seed"
	wait_for 50 munge_ok || {
		log "munged does not answer"
		tail -5 "$munge_dir/munged.log" >&2
		exit 1
	}
}

write_conf() {
	local mem extra=
	mkdir -p "$dir/state" "$dir/spool" "$dir/log"
	mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
	[ "$cpus" -gt "$(nproc)" ] && extra=SlurmdParameters=config_overrides
	cat >"$conf.new" <<EOF
# Written by scripts/slurm.sh: a single-node cluster on 127.0.0.1.
ClusterName=opustest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_dir/munge.socket
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# No slurmdbd: ended jobs are written here, and "sacct -c" reads them.
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SchedulerType=sched/backfill
# Else a job waits up to 3 s for the scheduler after another one started.
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=$minjobage
KillWait=5
OverTimeLimit=0
InactiveLimit=0
Waittime=0
$extra
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=${mem:-1024} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
# A second one, for tests that choose a partition (debug stays the default).
PartitionName=other Nodes=localhost MaxTime=INFINITE State=UP
# SLURM's shortest limit, for the test of a time limit SLURM enforces itself:
# a job without --time gets DefaultTime (1 minute) and, with OverTimeLimit=0,
# SLURM ends it TIMEOUT at slurmctld's next check of limits (every 30 s).
PartitionName=short Nodes=localhost DefaultTime=1 MaxTime=1 State=UP
EOF
	mv "$conf.new" "$conf"
	printf 'export SLURM_CONF=%q\n' "$conf" >"$dir/env"
}

ctld_up() { scontrol ping | grep -q 'is UP'; }

node_ready() {
	case $(sinfo -h -N -n localhost -p debug -o %t) in
	idle | mix | alloc) return 0 ;;
	*) return 1 ;;
	esac
}

start_slurm() {
	if ! pid_alive "$dir/slurmctld.pid"; then
		# A fresh cluster: -c clears the saved jobs, and their job ids
		# restart at 1, so the jobcomp log of the last one goes too. The
		# spool is slurmd's: kept while it runs (it finds its jobs' steps
		# there, and the new slurmctld has it kill the ones it never knew).
		rm -rf "${dir:?}/state"/* "${dir:?}/log"/*
		pid_alive "$dir/slurmd.pid" || rm -rf "${dir:?}/spool"/*
		slurmctld -c -f "$conf"
	fi
	wait_for 100 ctld_up || {
		log "slurmctld does not answer"
		tail -20 "$dir/log/slurmctld.log" >&2
		exit 1
	}
	pid_alive "$dir/slurmd.pid" || slurmd -N localhost -f "$conf"
	wait_for 200 node_ready || {
		log "the node is not idle: $(sinfo -h -N -o %t 2>&1)"
		tail -20 "$dir/log/slurmd.log" >&2
		exit 1
	}
}

no_jobs() { [ -z "$(squeue -h -o %i)" ]; }

stop_pid() { # pid file
	local p
	pid_alive "$1" || return 0
	p=$(cat "$1")
	kill "$p" 2>/dev/null || true
	wait_for 100 eval "! kill -0 $p" || kill -9 "$p" 2>/dev/null || true
	wait_for 50 eval "! kill -0 $p" || log "process $p of $1 does not end"
	rm -f "$1"
}

stop_all() {
	# A job's processes survive slurmd: end every job first, and wait
	# until slurmctld has them all gone (KillWait is 5 s).
	if pid_alive "$dir/slurmctld.pid" && ctld_up 2>/dev/null; then
		scancel --full --state=PENDING,RUNNING,SUSPENDED,CONFIGURING 2>/dev/null || true
		scancel --full 2>/dev/null --user=root || true
		wait_for 150 no_jobs || log "jobs left: $(squeue -h -o '%i %T' 2>&1 | tr '\n' ' ')"
	fi
	stop_pid "$dir/slurmd.pid"
	stop_pid "$dir/slurmctld.pid"
	stop_pid "$munge_dir/munged.pid"
}

case $cmd in
up)
	install_missing
	start_munge
	pid_alive "$dir/slurmctld.pid" || write_conf
	start_slurm
	;;
down)
	[ -f "$conf" ] || exit 0
	stop_all
	;;
status)
	for f in "$munge_dir/munged.pid" "$dir/slurmctld.pid" "$dir/slurmd.pid"; do
		if pid_alive "$f"; then
			echo "$(basename "$f" .pid): running ($(cat "$f"))"
		else
			echo "$(basename "$f" .pid): not running"
		fi
	done
	pid_alive "$dir/slurmctld.pid" && sinfo
	;;
*)
	echo "usage: $0 up|down|status DIR" >&2
	exit 2
	;;
esac
