/* exec: picks a backend by name and forwards every call to its table. */
#include "exec/exec-int.h"

#include <stdlib.h>
#include <string.h>

static const struct exec_backend *const backends[] = {
    &exec_local_backend,
    &exec_slurm_backend,
};

#define EXEC_END_WORDS(name, words) [EXEC_END_##name] = words,
static const char *const end_words[EXEC_END_COUNT] = {EXEC_ENDS(EXEC_END_WORDS)};
#undef EXEC_END_WORDS

const char *exec_end_words(enum exec_end end)
{
	if ((unsigned)end >= EXEC_END_COUNT)
		return "unknown end";
	return end_words[end];
}

int exec_open(const struct exec_config *cfg, struct exec **out)
{
	const char *name = cfg->backend ? cfg->backend : "local";
	const struct exec_backend *b = NULL;
	struct exec *ex = NULL;
	int ret = OPUS_ERR_INVAL;

	*out = NULL;
	for (size_t i = 0; i < OPUS_ARRAY_LEN(backends); i++) {
		if (strcmp(backends[i]->ops->name, name) == 0)
			b = backends[i];
	}
	if (!b) {
		log_error("exec: unknown backend \"%s\"", name);
		goto done;
	}
	if (!cfg->on_event) {
		log_error("exec: no event callback");
		goto done;
	}
	ex = xcalloc(1, sizeof(*ex));
	ex->ops = b->ops;
	ex->on_event = cfg->on_event;
	ex->ctx = cfg->ctx;
	ret = b->open(ex, cfg);
	if (ret)
		goto done;
	*out = ex;
	ex = NULL;
done:
	free(ex);
	return ret;
}

enum exec_keep exec_keeps(const struct exec *ex)
{
	return ex->ops->keep;
}

const char *exec_backend_name(const struct exec *ex)
{
	return ex->ops->name;
}

void exec_emit(struct exec *ex, const struct exec_event *ev)
{
	ex->on_event(ex->ctx, ev);
}

int exec_submit(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
		char **why_out)
{
	*why_out = NULL;
	memset(out, 0, sizeof(*out));
	if (!spec->job_id || !spec->workdir || !spec->script_path || !spec->envp ||
	    !spec->stdout_path || !spec->stderr_path) {
		*why_out = xstrdup("incomplete job specification");
		return OPUS_ERR_INVAL;
	}
	int ret = ex->ops->submit(ex, spec, out, why_out);
	if (ret && !*why_out)
		*why_out = xstrdup("could not submit the job");
	if (!ret && *why_out) {
		free(*why_out);
		*why_out = NULL;
	}
	return ret;
}

int exec_cancel(struct exec *ex, const char *handle, int sig)
{
	if (!handle || !*handle)
		return OPUS_ERR_INVAL;
	return ex->ops->cancel(ex, handle, sig);
}

int exec_adopt(struct exec *ex, const char *job_id, const char *handle)
{
	if (!job_id || !handle || !*handle)
		return OPUS_ERR_NOTFOUND;
	return ex->ops->adopt(ex, job_id, handle);
}

void exec_poll(struct exec *ex)
{
	if (ex->ops->poll)
		ex->ops->poll(ex);
}

bool exec_reachable(struct exec *ex, char **why_out)
{
	*why_out = NULL;
	return !ex->ops->reachable || ex->ops->reachable(ex, why_out);
}

void exec_close(struct exec *ex)
{
	if (!ex)
		return;
	ex->ops->close(ex);
	free(ex);
}
