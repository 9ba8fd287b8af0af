/* exec: picks a backend by name and forwards every call to its table. */
#include "exec/exec-int.h"

#include <stdlib.h>
#include <string.h>

static const struct exec_backend *const backends[] = {
    &exec_local_backend,
};

int exec_open(const char *backend, exec_exit_fn on_exit, void *ctx, struct exec **out)
{
	const struct exec_backend *b = NULL;
	struct exec *ex = NULL;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(backends); i++) {
		if (backend && strcmp(backends[i]->ops->name, backend) == 0)
			b = backends[i];
	}
	if (!b || !on_exit) {
		log_error("exec: unknown backend \"%s\"", backend ? backend : "(null)");
		goto done;
	}
	ex = xcalloc(1, sizeof(*ex));
	ex->ops = b->ops;
	ex->on_exit = on_exit;
	ex->ctx = ctx;
	ret = b->open(ex);
	if (ret)
		goto done;
	*out = ex;
	ex = NULL;
done:
	free(ex);
	return ret;
}

int exec_start(struct exec *ex, const struct exec_spec *spec, int64_t *handle_out)
{
	if (!spec->job_id || !spec->workdir || !spec->script_path || !spec->envp ||
	    !spec->stdout_path || !spec->stderr_path)
		return OPUS_ERR_INVAL;
	return ex->ops->start(ex, spec, handle_out);
}

int exec_signal(struct exec *ex, int64_t handle, int sig)
{
	return ex->ops->signal(ex, handle, sig);
}

void exec_close(struct exec *ex)
{
	if (!ex)
		return;
	ex->ops->close(ex);
	free(ex);
}
