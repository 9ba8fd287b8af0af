/*
 * prov_blob: the content-addressed half of the entity store. A blob is the
 * one copy of some bytes, data_dir/store/sha256/{2 hex}/{64 hex}, mode 0444,
 * owned by the daemon; the files of job directories are hard links to it
 * (a copy where the job directory is on another file system: EXDEV).
 *
 * A blob appears whole: link(2) of a file already fully written (the job's
 * own file when the daemon owns it, else a copy made in the blob's
 * directory under a temporary name), which fails when the blob exists.
 * Creating, linking and unlinking a blob happen under prov_blob_lock(), and
 * a blob goes only when no live entity refers to it and no job directory
 * links to it any more (its link count is 1), so a job being created, whose
 * entity is not live yet, never loses its bytes' blob.
 */
#include "prov/prov-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOB_MODE 0444

bool prov_sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; s && i < 64; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s && s[64] == '\0';
}

char *prov_blob_path(const struct prov *p, const char *sha256)
{
	return xasprintf("%s/%.2s/%s", p->store_dir, sha256, sha256);
}

/* A name beside `path` for a file about to replace it or become a blob. */
static char *tmp_beside(const char *path)
{
	char rnd[17];

	rand_hex(rnd, 8);
	return xasprintf("%s.tmp-%s", path, rnd);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Copies in into a new file at dest (mode); hashes what it copied into
 * hex_out when not NULL. 0, or OPUS_ERR_IO with nothing left at dest. */
static int copy_to_new(int in, const char *dest, unsigned mode, char hex_out[65])
{
	struct sha256_stream *h = hex_out ? sha256_begin() : NULL;
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	char buf[65536];
	ssize_t n = -1;

	if (out < 0) {
		log_error("entity store: cannot create %s: %s", dest, strerror(errno));
		sha256_abandon(h);
		return OPUS_ERR_IO;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(out, buf, (size_t)n) != 0)
			break;
		if (h)
			sha256_add(h, buf, (size_t)n);
	}
	if (close(out) != 0 || n != 0) {
		log_error("entity store: cannot copy into %s: %s", dest, strerror(errno));
		sha256_abandon(h);
		unlink(dest);
		return OPUS_ERR_IO;
	}
	if (h)
		sha256_end(h, hex_out);
	return 0;
}

/* dest becomes a link to the blob (a copy of it across file systems),
 * atomically: whoever reads dest sees the old file or the new one. */
static int replace_with_link(const char *blob, const char *dest)
{
	char *tmp = tmp_beside(dest);
	int ret = 0;

	if (link(blob, tmp) != 0) {
		int in = errno == EXDEV ? open(blob, O_RDONLY | O_CLOEXEC) : -1;
		ret = in >= 0 ? copy_to_new(in, tmp, BLOB_MODE, NULL) : OPUS_ERR_IO;
		if (in >= 0)
			close(in);
		else
			log_error("entity store: cannot link %s to %s: %s", blob, dest,
				  strerror(errno));
	}
	if (ret == 0 && rename(tmp, dest) != 0) {
		log_error("entity store: cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		ret = OPUS_ERR_IO;
	}
	free(tmp);
	return ret;
}

/* Makes the blob from the file at path (whose bytes are sha256): the file
 * itself when the daemon owns it and nothing else links to it, else a copy
 * checked against sha256. *linked_out: path is now the blob's inode. */
static int blob_create(const char *path, const char *blob, const char *sha256, bool *linked_out)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char got[65], *tmp = NULL;
	struct stat st;
	int ret = OPUS_ERR_IO;

	*linked_out = false;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_error("entity store: %s: not a readable plain file", path);
		goto done;
	}
	if (st.st_uid == geteuid() && st.st_nlink == 1 && fchmod(fd, BLOB_MODE) == 0) {
		if (link(path, blob) == 0) {
			*linked_out = true;
			ret = 0;
			goto done;
		}
		if (errno != EXDEV) {
			log_error("entity store: cannot link %s: %s", blob, strerror(errno));
			goto done;
		}
	}
	tmp = tmp_beside(blob);
	if (copy_to_new(fd, tmp, BLOB_MODE, got) != 0)
		goto done;
	if (strcmp(got, sha256) != 0) {
		log_error("entity store: %s changed while it was stored", path);
		ret = OPUS_ERR_IO;
	} else if (link(tmp, blob) != 0) {
		log_error("entity store: cannot link %s: %s", blob, strerror(errno));
	} else {
		ret = 0;
	}
	unlink(tmp);
done:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

int prov_blob_adopt(struct prov *p, const char *path, const char *sha256)
{
	char *blob, *dir;
	struct stat st;
	bool linked = false;
	int ret = OPUS_ERR_INVAL;

	if (!prov_sha256_ok(sha256))
		return ret;
	blob = prov_blob_path(p, sha256);
	dir = xasprintf("%s/%.2s", p->store_dir, sha256);
	pthread_mutex_lock(prov_blob_lock(p, sha256));
	ret = mkdir_p(dir, 0755) == 0 ? 0 : OPUS_ERR_IO;
	if (ret == 0 && lstat(blob, &st) != 0)
		ret = blob_create(path, blob, sha256, &linked);
	if (ret == 0 && !linked)
		ret = replace_with_link(blob, path);
	pthread_mutex_unlock(prov_blob_lock(p, sha256));
	free(dir);
	free(blob);
	return ret;
}

int prov_blob_link_to(struct prov *p, const char *sha256, const char *dest)
{
	char *blob;
	struct stat st;
	int ret = OPUS_ERR_NOTFOUND;

	if (!prov_sha256_ok(sha256))
		return OPUS_ERR_INVAL;
	blob = prov_blob_path(p, sha256);
	pthread_mutex_lock(prov_blob_lock(p, sha256));
	if (lstat(blob, &st) == 0 && S_ISREG(st.st_mode))
		ret = replace_with_link(blob, dest);
	pthread_mutex_unlock(prov_blob_lock(p, sha256));
	free(blob);
	return ret;
}

/* Unlinks one blob when nothing holds it. The blob's lock held. */
static void collect_one(struct prov *p, const char *sha256)
{
	char *blob = prov_blob_path(p, sha256);
	int64_t refs = 1;
	struct stat st;

	if (lstat(blob, &st) == 0 && st.st_nlink == 1 &&
	    store_blob_refs(p->st, sha256, &refs) == 0 && refs == 0) {
		if (unlink(blob) != 0 && errno != ENOENT)
			log_warn("entity store: cannot remove %s: %s", blob, strerror(errno));
		else
			log_debug("entity store: blob %s removed", sha256);
	}
	free(blob);
}

void prov_blobs_collect(struct prov *p, char **sha256s, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		if (!prov_sha256_ok(sha256s[i]))
			continue;
		pthread_mutex_lock(prov_blob_lock(p, sha256s[i]));
		collect_one(p, sha256s[i]);
		pthread_mutex_unlock(prov_blob_lock(p, sha256s[i]));
	}
}
