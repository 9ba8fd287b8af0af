/*
 * exec-int: what the dispatcher (exec.c) and the backends (exec_local.c, later
 * exec_slurm.c) share. A backend is a table of operations plus an open
 * function that sets ex->priv; struct exec itself is only defined here.
 *
 * Threading: see exec.h. Ownership: the backend owns ex->priv and frees it in
 * its close operation; exec.c frees the struct exec.
 * Included by: the .c files of src/exec only.
 */
#ifndef OPUS_EXEC_INT_H
#define OPUS_EXEC_INT_H

#include "exec/exec.h"

struct exec {
	const struct exec_ops *ops;
	exec_exit_fn on_exit;
	void *ctx;
	void *priv; /* the backend's state */
};

struct exec_backend {
	const struct exec_ops *ops;
	int (*open)(struct exec *ex); /* sets ex->priv, starts backend threads */
};

extern const struct exec_backend exec_local_backend;

#endif
