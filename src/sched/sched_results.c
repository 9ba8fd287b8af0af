/*
 * sched_results: what a job leaves behind becomes its UWS results when it
 * ends: the Generated files named plainly, the files a Generated pattern
 * (`*.fits`) matches at the top of the job directory, stdout and stderr.
 * Runs at job end (a sched worker, recovery), never on a request.
 */
#include "sched/sched-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A Generated default that names a plain file of the job dir (no glob, no
 * directory part, no way out of the directory). */
static bool result_name_ok(const char *name)
{
	return name && *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	       !strpbrk(name, "/*?[");
}

static void add_file_result(const struct sched *s, struct uws_job *job, const char *rid,
			    const char *rel, const char *mime)
{
	char *path = sched_path(s, job->id, rel);
	struct stat st;

	/* lstat: a symlink the job made is not a result (it could point anywhere). */
	if (!uws_job_result(job, rid) && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		uws_job_add_result(job, rid, rel, mime, (int64_t)st.st_size);
	free(path);
}

void sched_results_clear(struct uws_job *job)
{
	for (size_t i = 0; i < job->nresults; i++) {
		free(job->results[i].id);
		free(job->results[i].path);
		free(job->results[i].mime);
		free(job->results[i].entity_id);
		free(job->results[i].sha256);
	}
	free(job->results);
	job->results = NULL;
	job->nresults = 0;
}

/* Most results one job gets from its Generated patterns. */
#define GLOB_RESULTS_MAX 1000

/* A Generated default that is a pattern over the top level of the job dir. */
static bool result_pattern_ok(const char *pat)
{
	return pat && !strchr(pat, '/') && strpbrk(pat, "*?[");
}

/* A file name that may be a result id and a URL segment as it is. */
static bool result_id_ok(const char *name)
{
	if (!*name || *name == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

/* The first Generated pattern `name` matches (FNM_PERIOD: never a dotfile). */
static const struct jdl_entity *pattern_for(const struct jdl *j, const char *name)
{
	for (size_t i = 0; i < j->ngenerated; i++) {
		const struct jdl_entity *g = &j->generated[i];
		if (result_pattern_ok(g->default_value) &&
		    fnmatch(g->default_value, name, FNM_PERIOD) == 0)
			return g;
	}
	return NULL;
}

/* Already a result, by id or by file (a plain name, stdout, stderr), or an
 * uploaded input file. */
static bool file_taken(const struct uws_job *job, const char *name)
{
	for (size_t i = 0; i < job->nresults; i++)
		if (strcmp(job->results[i].id, name) == 0 ||
		    strcmp(job->results[i].path, name) == 0)
			return true;
	for (size_t i = 0; i < job->nparams; i++)
		if (job->params[i].by_ref && job->params[i].value &&
		    strcmp(job->params[i].value, name) == 0)
			return true;
	return false;
}

struct glob_hit {
	char *name; /* the result id and its path */
	const char *mime;
	int64_t size;
};

/* The files the patterns match: a max-heap by name holding the
 * GLOB_RESULTS_MAX first names seen so far, whatever the listing order. */
struct glob_hits {
	struct glob_hit hit[GLOB_RESULTS_MAX];
	size_t n;
	size_t seen;   /* acceptable files seen, kept or not */
	size_t unsafe; /* matching names refused as result ids */
};

static void glob_hits_sift_down(struct glob_hits *g, size_t i)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = 2 * i + 2;
		struct glob_hit t;

		if (l < g->n && strcmp(g->hit[l].name, g->hit[big].name) > 0)
			big = l;
		if (r < g->n && strcmp(g->hit[r].name, g->hit[big].name) > 0)
			big = r;
		if (big == i)
			return;
		t = g->hit[i];
		g->hit[i] = g->hit[big];
		g->hit[big] = t;
		i = big;
	}
}

static void glob_hits_add(struct glob_hits *g, const char *name, const char *mime, int64_t size)
{
	size_t i;

	g->seen++;
	if (g->n == GLOB_RESULTS_MAX) {
		if (strcmp(name, g->hit[0].name) > 0)
			return;
		free(g->hit[0].name);
		g->hit[0] = (struct glob_hit){xstrdup(name), mime, size};
		glob_hits_sift_down(g, 0);
		return;
	}
	i = g->n++;
	g->hit[i] = (struct glob_hit){xstrdup(name), mime, size};
	for (; i > 0 && strcmp(g->hit[(i - 1) / 2].name, g->hit[i].name) < 0; i = (i - 1) / 2) {
		struct glob_hit t = g->hit[i];
		g->hit[i] = g->hit[(i - 1) / 2];
		g->hit[(i - 1) / 2] = t;
	}
}

static int cmp_glob_hits(const void *a, const void *b)
{
	return strcmp(((const struct glob_hit *)a)->name, ((const struct glob_hit *)b)->name);
}

/* Lists the job dir's top level once for the regular files a pattern matches. */
static void glob_hits_collect(const struct sched *s, const struct uws_job *job, const struct jdl *j,
			      struct glob_hits *h)
{
	char *dir = sched_path(s, job->id, "");
	DIR *d = opendir(dir);
	const struct dirent *de;

	if (!d && errno != ENOENT)
		log_warn("job %s: results not listed: %s: %s", job->id, dir, strerror(errno));
	while (d && (de = readdir(d))) {
		const struct jdl_entity *g = pattern_for(j, de->d_name);
		struct stat st;

		if (!g || file_taken(job, de->d_name))
			continue;
		if (!result_id_ok(de->d_name))
			h->unsafe++;
		else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			 S_ISREG(st.st_mode))
			glob_hits_add(h, de->d_name, g->content_type, (int64_t)st.st_size);
	}
	if (d)
		closedir(d);
	free(dir);
}

/* Adds the files the Generated patterns match, each under its own name. */
static void add_glob_results(const struct sched *s, struct uws_job *job, const struct jdl *j)
{
	struct glob_hits *h;
	size_t i;

	for (i = 0; i < j->ngenerated && !result_pattern_ok(j->generated[i].default_value); i++)
		;
	if (i == j->ngenerated)
		return;
	h = xcalloc(1, sizeof(*h));
	glob_hits_collect(s, job, j, h);
	if (h->unsafe)
		log_warn("job %s: %zu file(s) matching a result pattern skipped: a result name "
			 "is [A-Za-z0-9._-] and does not start with '.'",
			 job->id, h->unsafe);
	if (h->seen > h->n)
		log_warn("job %s: %zu files match its result patterns; only the first %d by name "
			 "are results",
			 job->id, h->seen, GLOB_RESULTS_MAX);
	qsort(h->hit, h->n, sizeof(h->hit[0]), cmp_glob_hits);
	for (i = 0; i < h->n; i++) {
		uws_job_add_result(job, h->hit[i].name, h->hit[i].name, h->hit[i].mime,
				   h->hit[i].size);
		free(h->hit[i].name);
	}
	free(h);
}

/* A result's file: the value of the parameter of the same name when there is
 * one (OPUS lets the user name an output file so) and it names a plain file
 * of the job directory, else the Generated default. */
static const char *result_file(const struct uws_job *job, const struct jdl_entity *g)
{
	const struct uws_param *p = uws_job_param(job, g->name);
	if (p && !p->by_ref && strcmp(p->name, g->name) == 0 && result_name_ok(p->value))
		return p->value;
	return g->default_value;
}

void sched_collect_results(const struct sched *s, struct uws_job *job, const struct jdl *j)
{
	sched_results_clear(job);
	for (size_t i = 0; j && i < j->ngenerated; i++) {
		const struct jdl_entity *g = &j->generated[i];
		const char *file = result_file(job, g);
		if (result_name_ok(file))
			add_file_result(s, job, g->name, file, g->content_type);
	}
	add_file_result(s, job, "stdout", ".opusd/stdout", "text/plain");
	add_file_result(s, job, "stderr", ".opusd/stderr", "text/plain");
	/* Last, so that a matching file never takes the id of a named result. */
	if (j)
		add_glob_results(s, job, j);
}
