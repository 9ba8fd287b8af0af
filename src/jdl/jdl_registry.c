/*
 * jdl_registry: the set of job descriptions currently served, read from one
 * directory. A reload builds a whole new set without holding the lock, then
 * swaps it in; jobs that took a reference keep their description. See jdl.h.
 */
#include "jdl/jdl-int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct jdl_registry {
	char *dir;
	pthread_rwlock_t lock; /* guards items and n */
	struct jdl **items;    /* sorted by name (strcmp), one reference each */
	size_t n;
};

struct jdl_registry *jdl_registry_new(const char *dir)
{
	struct jdl_registry *reg = xcalloc(1, sizeof(*reg));
	reg->dir = xstrdup(dir);
	pthread_rwlock_init(&reg->lock, NULL);
	return reg;
}

static void set_free(struct jdl **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jdl_unref(items[i]);
	free(items);
}

void jdl_registry_free(struct jdl_registry *reg)
{
	if (!reg)
		return;
	set_free(reg->items, reg->n);
	pthread_rwlock_destroy(&reg->lock);
	free(reg->dir);
	free(reg);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_jdls(const void *a, const void *b)
{
	return strcmp((*(struct jdl *const *)a)->name, (*(struct jdl *const *)b)->name);
}

/* The file names ending in .xml, sorted so that logs come in a stable order. */
static char **list_xml(const char *dir, size_t *n_out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (!d) {
		log_error("job descriptions %s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 4, ".xml") != 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*n_out = n;
	return names ? names : xcalloc(1, sizeof(*names));
}

/* Reads dir/file; NULL (logged) when it is skipped. */
static struct jdl *load_one(const char *dir, const char *file)
{
	char *name = xstrndup(file, strlen(file) - 4);
	char *path = xasprintf("%s/%s", dir, file);
	struct jdl *j = NULL;
	char *err = NULL;
	struct stat st;

	if (!name_is_safe(name, JDL_NAME_MAX))
		log_warn("job description %s skipped: the name must be 1 to %d characters of "
			 "[A-Za-z0-9_-]",
			 path, JDL_NAME_MAX);
	else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		log_warn("job description %s skipped: not a regular file", path);
	else if (jdl_parse_file(path, name, &j, &err) != 0)
		log_warn("job description %s skipped: %s", path, err ? err : "unreadable");
	free(err);
	free(path);
	free(name);
	return j;
}

int jdl_registry_load(struct jdl_registry *reg)
{
	size_t nfiles = 0, n = 0, nold;
	char **files = list_xml(reg->dir, &nfiles);
	struct jdl **items, **old;

	if (!files)
		return OPUS_ERR_IO;
	items = xcalloc(nfiles ? nfiles : 1, sizeof(*items));
	for (size_t i = 0; i < nfiles; i++) {
		if ((items[n] = load_one(reg->dir, files[i])))
			n++;
		free(files[i]);
	}
	free(files);
	if (n)
		qsort(items, n, sizeof(*items), cmp_jdls);

	pthread_rwlock_wrlock(&reg->lock);
	old = reg->items;
	nold = reg->n;
	reg->items = items;
	reg->n = n;
	pthread_rwlock_unlock(&reg->lock);

	set_free(old, nold);
	log_info("loaded %zu job description(s) from %s", n, reg->dir);
	return (int)n;
}

struct jdl *jdl_registry_get(struct jdl_registry *reg, const char *name)
{
	struct jdl key = {.name = (char *)name}, *keyp = &key, **found;
	struct jdl *j = NULL;

	if (!name)
		return NULL;
	pthread_rwlock_rdlock(&reg->lock);
	found = reg->n ? bsearch(&keyp, reg->items, reg->n, sizeof(*reg->items), cmp_jdls) : NULL;
	if (found)
		j = jdl_ref(*found);
	pthread_rwlock_unlock(&reg->lock);
	return j;
}

char **jdl_registry_names(struct jdl_registry *reg, size_t *n_out)
{
	char **names;

	pthread_rwlock_rdlock(&reg->lock);
	names = xcalloc(reg->n + 1, sizeof(*names));
	for (size_t i = 0; i < reg->n; i++)
		names[i] = xstrdup(reg->items[i]->name);
	*n_out = reg->n;
	pthread_rwlock_unlock(&reg->lock);
	return names;
}
