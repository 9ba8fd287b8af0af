/* exec: picks a backend by name and forwards every call to its table; with
 * several open (a job description may name its own), the dispatcher routes a
 * submission by its spec's backend and every other call by the handle's form. */
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

static const struct exec_backend *backend_named(const char *name)
{
	for (size_t i = 0; i < OPUS_ARRAY_LEN(backends); i++) {
		if (strcmp(backends[i]->ops->name, name) == 0)
			return backends[i];
	}
	return NULL;
}

/* One backend. */
static int open_one(const struct exec_config *cfg, const char *name, struct exec **out)
{
	const struct exec_backend *b = backend_named(name);
	struct exec *ex;
	int ret;

	*out = NULL;
	if (!b) {
		log_error("exec: unknown backend \"%s\"", name);
		return OPUS_ERR_INVAL;
	}
	ex = xcalloc(1, sizeof(*ex));
	ex->ops = b->ops;
	ex->on_event = cfg->on_event;
	ex->ctx = cfg->ctx;
	ret = b->open(ex, cfg);
	if (ret) {
		free(ex);
		return ret;
	}
	*out = ex;
	return 0;
}

int exec_open(const struct exec_config *cfg, struct exec **out)
{
	const char *name = cfg->backend ? cfg->backend : "local";
	struct exec *ex;
	size_t nalso = 0;
	int ret;

	*out = NULL;
	if (!cfg->on_event) {
		log_error("exec: no event callback");
		return OPUS_ERR_INVAL;
	}
	for (const char *const *a = cfg->also; a && *a; a++)
		nalso += strcmp(*a, name) != 0;
	if (nalso == 0)
		return open_one(cfg, name, out);
	/* several: a dispatcher over one struct exec per backend, the default first */
	ex = xcalloc(1, sizeof(*ex));
	ex->sub = xcalloc(nalso + 1, sizeof(*ex->sub));
	ret = open_one(cfg, name, &ex->sub[ex->nsub]);
	ex->nsub += ret == 0;
	for (const char *const *a = cfg->also; !ret && *a; a++) {
		if (exec_has_backend(ex, *a))
			continue;
		ret = open_one(cfg, *a, &ex->sub[ex->nsub]);
		if (ret == 0)
			ex->sub[ex->nsub]->slot = (int)ex->nsub;
		ex->nsub += ret == 0;
	}
	if (ret) {
		exec_close(ex);
		return ret;
	}
	*out = ex;
	return 0;
}

/* The backend of a name: ex itself, or one of its subs; NULL: not open. */
static struct exec *by_name(const struct exec *ex, const char *name)
{
	if (!ex->nsub)
		return strcmp(ex->ops->name, name) == 0 ? (struct exec *)ex : NULL;
	for (size_t i = 0; i < ex->nsub; i++) {
		if (strcmp(ex->sub[i]->ops->name, name) == 0)
			return ex->sub[i];
	}
	return NULL;
}

/* The backend of a handle; NULL: none open has its form. */
static struct exec *by_handle(const struct exec *ex, const char *handle)
{
	if (!ex->nsub)
		return (struct exec *)ex;
	for (size_t i = 0; i < ex->nsub; i++) {
		if (ex->sub[i]->ops->owns(handle))
			return ex->sub[i];
	}
	return NULL;
}

static const struct exec *default_of(const struct exec *ex)
{
	return ex->nsub ? ex->sub[0] : ex;
}

enum exec_keep exec_keeps(const struct exec *ex)
{
	return default_of(ex)->ops->keep;
}

enum exec_keep exec_keeps_handle(const struct exec *ex, const char *handle)
{
	const struct exec *b = handle && *handle ? by_handle(ex, handle) : NULL;
	return b ? b->ops->keep : EXEC_KEEP_NONE;
}

const char *exec_backend_name(const struct exec *ex)
{
	return default_of(ex)->ops->name;
}

const char *exec_handle_backend(const struct exec *ex, const char *handle)
{
	const struct exec *b = handle && *handle ? by_handle(ex, handle) : NULL;
	return b ? b->ops->name : "?";
}

bool exec_has_backend(const struct exec *ex, const char *name)
{
	return name && by_name(ex, name) != NULL;
}

_Static_assert(OPUS_ARRAY_LEN(backends) <= EXEC_BACKENDS_MAX, "a slot for every backend");

int exec_backend_slot(const struct exec *ex, const char *name)
{
	const struct exec *b;

	if (!name)
		return 0;
	b = by_name(ex, name);
	return b ? b->slot : -1;
}

void exec_emit(struct exec *ex, const struct exec_event *ev)
{
	struct exec_event e = *ev;

	e.slot = ex->slot;
	ex->on_event(ex->ctx, &e);
}

int exec_submit(struct exec *ex, const struct exec_spec *spec, struct exec_submitted *out,
		char **why_out)
{
	struct exec *b;

	*why_out = NULL;
	memset(out, 0, sizeof(*out));
	if (!spec->job_id || !spec->workdir || !spec->script_path || !spec->envp ||
	    !spec->stdout_path || !spec->stderr_path) {
		*why_out = xstrdup("incomplete job specification");
		return OPUS_ERR_INVAL;
	}
	b = spec->backend ? by_name(ex, spec->backend) : (struct exec *)default_of(ex);
	if (!b) {
		*why_out = xasprintf("its job description asks for the %s backend, which this "
				     "server does not run (jobs.backends)",
				     spec->backend);
		return OPUS_ERR_INVAL;
	}
	int ret = b->ops->submit(b, spec, out, why_out);
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
	struct exec *b = handle && *handle ? by_handle(ex, handle) : NULL;
	if (!b)
		return OPUS_ERR_INVAL;
	return b->ops->cancel(b, handle, sig);
}

int exec_adopt(struct exec *ex, const char *job_id, const char *handle)
{
	struct exec *b = job_id && handle && *handle ? by_handle(ex, handle) : NULL;
	if (!b)
		return OPUS_ERR_NOTFOUND;
	return b->ops->adopt(b, job_id, handle);
}

void exec_poll(struct exec *ex)
{
	for (size_t i = 0; i < ex->nsub; i++)
		exec_poll(ex->sub[i]);
	if (!ex->nsub && ex->ops->poll)
		ex->ops->poll(ex);
}

bool exec_reachable(struct exec *ex, char **why_out)
{
	*why_out = NULL;
	for (size_t i = 0; i < ex->nsub; i++) {
		if (!exec_reachable(ex->sub[i], why_out))
			return false;
	}
	return ex->nsub || !ex->ops->reachable || ex->ops->reachable(ex, why_out);
}

void exec_close(struct exec *ex)
{
	if (!ex)
		return;
	for (size_t i = 0; i < ex->nsub; i++)
		exec_close(ex->sub[i]);
	free(ex->sub);
	if (ex->ops)
		ex->ops->close(ex);
	free(ex);
}
