/*
 * jdl_registry: the set of job descriptions currently served, read from one
 * directory (opusd's {name}.xml files, and an OPUS site's folders below it). A reload builds a
 * whole new set without holding the lock, then swaps it in; jobs that took a reference keep their
 * description. See jdl.h.
 *
 * Versions: every source document loaded is kept as versions_dir/{name}/
 * {hash}.xml, and superseded versions stay in a small in-memory list, so
 * that a job runs the description it was created with even after a reload
 * or a restart.
 */
#include "jdl/jdl-int.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Superseded versions kept in memory; the oldest goes first past this. */
#define JDL_OLD_MAX 32

struct jdl_registry {
	char *dir;
	char *versions_dir;	   /* NULL: versions are not kept on disk */
	pthread_mutex_t load_lock; /* one load at a time (and one writer of versions_dir) */
	pthread_rwlock_t lock;	   /* guards items, n, old and nold */
	struct jdl **items;	   /* sorted by name (strcmp), one reference each */
	size_t n;
	struct jdl *old[JDL_OLD_MAX]; /* superseded versions, oldest first, one reference each */
	size_t nold;
};

struct jdl_registry *jdl_registry_new(const char *dir, const char *versions_dir)
{
	struct jdl_registry *reg = xcalloc(1, sizeof(*reg));
	reg->dir = xstrdup(dir);
	reg->versions_dir = versions_dir ? xstrdup(versions_dir) : NULL;
	pthread_mutex_init(&reg->load_lock, NULL);
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
	for (size_t i = 0; i < reg->nold; i++)
		jdl_unref(reg->old[i]);
	pthread_rwlock_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->load_lock);
	free(reg->versions_dir);
	free(reg->dir);
	free(reg);
}

static int cmp_jdls(const void *a, const void *b)
{
	return strcmp((*(struct jdl *const *)a)->name, (*(struct jdl *const *)b)->name);
}

/*
 * Where descriptions come from, in order of precedence: opusd's own {name}.xml, then
 * the folders of an OPUS site (see jdl.h). A name found in several places
 * is the first one's; the VOTable comes before OPUS's JSON and WADL, which
 * OPUS itself writes from it.
 */
typedef int (*jdl_reader)(const struct jdl_doc *doc, struct jdl **out, char **err_out);
static const struct layout {
	const char *dir;    /* below the registry's directory, "" for itself */
	const char *suffix; /* a file there is {name}{suffix} */
	const char *skip;   /* a name there that is no description, or NULL */
	jdl_reader read;
} layouts[] = {
    {"", ".xml", NULL, jdl_parse_votable},
    {"votable/", "_vot.xml", NULL, jdl_parse_votable},
    {"json/", ".json", NULL, jdl_parse_opus_json},
    /* OPUS keeps the template its WADL files are written from with them */
    {"wadl/", ".wadl", "uws_template", jdl_parse_wadl},
};

/* OPUS's scripts folder, for documents without a script. */
#define SCRIPTS_DIR "scripts/"

/* One file that may hold a description. */
struct candidate {
	char *name; /* the file name without its suffix */
	size_t layout;
};

static int cmp_candidates(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->layout > y->layout) - (x->layout < y->layout);
}

/* Adds the files of one layout to *all; false when the registry's own
 * directory cannot be read (a missing OPUS folder is just not used). */
static bool list_layout(const char *top, size_t l, struct candidate **all, size_t *n)
{
	const struct layout *lay = &layouts[l];
	char *dir = *lay->dir ? xasprintf("%s/%s", top, lay->dir) : xstrdup(top);
	size_t slen = strlen(lay->suffix);
	DIR *d = opendir(dir);
	const struct dirent *de;

	if (!d) {
		if (!*lay->dir || errno != ENOENT)
			log_error("job descriptions %s: %s", dir, strerror(errno));
		free(dir);
		return *lay->dir != '\0';
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, lay->suffix) != 0 ||
		    (lay->skip && len - slen == strlen(lay->skip) &&
		     strncmp(de->d_name, lay->skip, len - slen) == 0))
			continue;
		*all = xrealloc(*all, (*n + 1) * sizeof(**all));
		(*all)[(*n)++] = (struct candidate){xstrndup(de->d_name, len - slen), l};
	}
	closedir(d);
	free(dir);
	return true;
}

/* Every candidate file, sorted by name and then by precedence, so that logs
 * come in a stable order; NULL when the directory cannot be read. */
static struct candidate *list_candidates(const char *dir, size_t *n_out)
{
	struct candidate *all = xcalloc(1, sizeof(*all));
	size_t n = 0;

	for (size_t l = 0; l < OPUS_ARRAY_LEN(layouts); l++) {
		if (!list_layout(dir, l, &all, &n)) {
			for (size_t i = 0; i < n; i++)
				free(all[i].name);
			free(all);
			return NULL;
		}
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_candidates);
	*n_out = n;
	return all;
}

/* Keeps the source of j (the file, or the VOTable written from it: see
 * jdl.h) as versions_dir/{name}/{hash}.xml unless it is there already; a
 * failure is logged and only costs that version. */
static void save_version(const struct jdl_registry *reg, const struct jdl *j)
{
	char *dir, *path;
	struct stat st;

	if (!reg->versions_dir)
		return;
	dir = xasprintf("%s/%s", reg->versions_dir, j->name);
	path = xasprintf("%s/%s.xml", dir, j->hash);
	/* file_write_all: tmp + rename, and logs its own failure. */
	if (stat(path, &st) != 0 &&
	    (mkdir_p(dir, 0750) != 0 || file_write_all(path, j->source, j->source_len, 0640) != 0))
		log_warn("job description %s: version %s not kept", j->name, j->hash);
	free(path);
	free(dir);
}

/* scripts/{name}.sh when it is a regular file, else NULL (a failure to
 * read it is logged; the description may not need it). */
static char *read_script(const struct jdl_registry *reg, const char *name)
{
	char *path = xasprintf("%s/" SCRIPTS_DIR "%s.sh", reg->dir, name);
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int ret;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		goto done;
	if ((ret = file_read_all(path, JDL_DOC_MAX, &buf, &len)) != 0)
		log_warn("job script %s not used: %s", path,
			 ret == OPUS_ERR_TOOBIG ? "too large" : opus_strerror(ret));
	else if (!buf)
		buf = xstrdup(""); /* empty: as if there were none */
done:
	free(path);
	return buf;
}

/* The file at path when it may be a description named name; 0, or a
 * negative code after logging why it is skipped. */
static int read_source(const char *path, const char *name, char **buf, size_t *len)
{
	struct stat st;
	int ret = OPUS_ERR_INVAL;

	if (!name_is_safe(name, JDL_NAME_MAX))
		log_warn("job description %s skipped: the name must be 1 to %d characters of "
			 "[A-Za-z0-9_-]",
			 path, JDL_NAME_MAX);
	else if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		log_warn("job description %s skipped: not a regular file", path);
	else if ((ret = file_read_all(path, JDL_DOC_MAX, buf, len)) == OPUS_ERR_TOOBIG)
		log_warn("job description %s skipped: larger than %d bytes", path, JDL_DOC_MAX);
	else if (ret != 0)
		log_warn("job description %s skipped: cannot read (%s)", path, opus_strerror(ret));
	else if (!*buf)
		*buf = xstrdup(""); /* empty file */
	return ret;
}

/* Reads the candidate's file; NULL (logged) when it is skipped. */
static struct jdl *load_one(const struct jdl_registry *reg, const struct candidate *c)
{
	const struct layout *lay = &layouts[c->layout];
	char *path = xasprintf("%s/%s%s%s", reg->dir, lay->dir, c->name, lay->suffix);
	struct jdl_doc doc = {.name = c->name};
	struct jdl *j = NULL;
	char *buf = NULL, *err = NULL, *script = NULL;

	if (read_source(path, c->name, &buf, &doc.len) != 0)
		goto done;
	doc.buf = buf;
	doc.script = script = read_script(reg, c->name);
	if (lay->read(&doc, &j, &err) != 0)
		log_warn("job description %s skipped: %s", path, err ? err : "unreadable");
	else
		save_version(reg, j);
done:
	free(script);
	free(buf);
	free(err);
	free(path);
	return j;
}

/* The named description of the current set, borrowed; lock held. */
static struct jdl *find_current(const struct jdl_registry *reg, const char *name)
{
	struct jdl key = {.name = (char *)name}, *keyp = &key, **found;

	found = reg->n ? bsearch(&keyp, reg->items, reg->n, sizeof(*reg->items), cmp_jdls) : NULL;
	return found ? *found : NULL;
}

/* The version (name, hash) of the superseded list, borrowed; lock held. */
static struct jdl *find_old(const struct jdl_registry *reg, const char *name, const char *hash)
{
	for (size_t i = 0; i < reg->nold; i++)
		if (strcmp(reg->old[i]->name, name) == 0 && strcmp(reg->old[i]->hash, hash) == 0)
			return reg->old[i];
	return NULL;
}

/* Takes over the reference j into the superseded list, dropping the oldest
 * when it is full; write lock held. */
static void old_add(struct jdl_registry *reg, struct jdl *j)
{
	if (reg->nold == JDL_OLD_MAX) {
		jdl_unref(reg->old[0]);
		memmove(reg->old, reg->old + 1, (JDL_OLD_MAX - 1) * sizeof(*reg->old));
		reg->nold--;
	}
	reg->old[reg->nold++] = j;
}

/* Swaps the new set in; a description that changed or went stays in the
 * superseded list for the jobs created with it. */
static void set_swap(struct jdl_registry *reg, struct jdl **items, size_t n)
{
	struct jdl **old;
	size_t nold;

	pthread_rwlock_wrlock(&reg->lock);
	old = reg->items;
	nold = reg->n;
	reg->items = items;
	reg->n = n;
	for (size_t i = 0; i < nold; i++) {
		const struct jdl *cur = find_current(reg, old[i]->name);
		if ((!cur || strcmp(cur->hash, old[i]->hash) != 0) &&
		    !find_old(reg, old[i]->name, old[i]->hash)) {
			old_add(reg, old[i]);
			old[i] = NULL;
		}
	}
	pthread_rwlock_unlock(&reg->lock);
	set_free(old, nold);
}

/* Loads the first candidate of each name; the others are shadowed. */
static size_t load_candidates(const struct jdl_registry *reg, struct candidate *c, size_t nc,
			      struct jdl **items)
{
	size_t n = 0;

	for (size_t i = 0; i < nc; i++) {
		const struct layout *lay = &layouts[c[i].layout];
		size_t first = i;

		while (first > 0 && strcmp(c[first - 1].name, c[i].name) == 0)
			first--;
		if (first != i)
			log_debug("job description %s/%s%s%s ignored: %s%s%s comes first", reg->dir,
				  lay->dir, c[i].name, lay->suffix, layouts[c[first].layout].dir,
				  c[i].name, layouts[c[first].layout].suffix);
		else if ((items[n] = load_one(reg, &c[i])))
			n++;
	}
	return n;
}

int jdl_registry_load(struct jdl_registry *reg)
{
	size_t nc = 0, n;
	struct candidate *c;
	struct jdl **items;

	pthread_mutex_lock(&reg->load_lock);
	if (!(c = list_candidates(reg->dir, &nc))) {
		pthread_mutex_unlock(&reg->load_lock);
		return OPUS_ERR_IO;
	}
	items = xcalloc(nc ? nc : 1, sizeof(*items));
	n = load_candidates(reg, c, nc, items);
	for (size_t i = 0; i < nc; i++)
		free(c[i].name);
	free(c);
	if (n)
		qsort(items, n, sizeof(*items), cmp_jdls);
	set_swap(reg, items, n);
	pthread_mutex_unlock(&reg->load_lock);
	log_info("loaded %zu job description(s) from %s", n, reg->dir);
	return (int)n;
}

struct jdl *jdl_registry_get(struct jdl_registry *reg, const char *name)
{
	struct jdl *j;

	if (!name)
		return NULL;
	pthread_rwlock_rdlock(&reg->lock);
	j = find_current(reg, name);
	if (j)
		j = jdl_ref(j);
	pthread_rwlock_unlock(&reg->lock);
	return j;
}

static bool hash_is_hex(const char *h)
{
	size_t i;

	for (i = 0; i < 64 && h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return i == 64 && !h[i];
}

/* A new reference to the version in memory (current or superseded), or
 * NULL; *served tells whether the name is currently served at all. */
static struct jdl *version_in_memory(struct jdl_registry *reg, const char *name, const char *hash,
				     bool *served)
{
	struct jdl *j;

	pthread_rwlock_rdlock(&reg->lock);
	j = find_current(reg, name);
	*served = j != NULL;
	if (j && strcmp(j->hash, hash) != 0)
		j = find_old(reg, name, hash);
	if (j)
		j = jdl_ref(j);
	pthread_rwlock_unlock(&reg->lock);
	return j;
}

/* Reads versions_dir/{name}/{hash}.xml; NULL when absent (logged when bad). */
static struct jdl *version_from_disk(const struct jdl_registry *reg, const char *name,
				     const char *hash)
{
	char *path = xasprintf("%s/%s/%s.xml", reg->versions_dir, name, hash);
	struct jdl *j = NULL;
	char *err = NULL;
	int ret = jdl_parse_file(path, name, &j, &err);

	if (ret != 0 && ret != OPUS_ERR_NOTFOUND)
		log_warn("job description version %s unusable: %s", path, err ? err : "unreadable");
	if (j && strcmp(j->hash, hash) != 0) {
		log_warn("job description version %s unusable: its content does not match its name",
			 path);
		jdl_unref(j);
		j = NULL;
	}
	free(err);
	free(path);
	return j;
}

struct jdl *jdl_registry_get_version(struct jdl_registry *reg, const char *name, const char *hash)
{
	struct jdl *j, *cached;
	bool served;

	if (!hash || !*hash)
		return jdl_registry_get(reg, name);
	if (!name || !name_is_safe(name, JDL_NAME_MAX) || !hash_is_hex(hash))
		return NULL;
	if ((j = version_in_memory(reg, name, hash, &served)) || !served || !reg->versions_dir ||
	    !(j = version_from_disk(reg, name, hash)))
		return j;
	pthread_rwlock_wrlock(&reg->lock);
	if ((cached = find_old(reg, name, hash))) { /* another thread read it meanwhile */
		jdl_unref(j);
		j = cached;
	} else {
		old_add(reg, j);
	}
	j = jdl_ref(j);
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
