/* util: randomness, name checks, integer parsing, small file helpers. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void rand_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t done = 0;
	if (nbytes > sizeof(raw))
		abort();
	while (done < nbytes) {
		ssize_t n = getrandom(raw + done, nbytes - done, 0);
		if (n < 0 && errno != EINTR) {
			log_error("getrandom: %s", strerror(errno));
			abort();
		}
		if (n > 0)
			done += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

bool name_is_safe(const char *s, size_t max_len)
{
	size_t n = 0;
	if (!s || !*s)
		return false;
	for (; s[n]; n++) {
		if (n >= max_len || !is_name_char(s[n]))
			return false;
	}
	return true;
}

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, c &= 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, c &= 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;

	return utf8_decode(s, n, &cp);
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len(p + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

bool name_is_identifier(const char *s)
{
	if (!s || !*s || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; *s; s++) {
		if (!is_name_char(*s) || *s == '-')
			return false;
	}
	return true;
}

int parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;
	if (!s || !*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
		return OPUS_ERR_INVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return OPUS_ERR_INVAL;
	*out = v;
	return 0;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path);
	int ret = 0;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
				log_error("mkdir %s: %s", p, strerror(errno));
				ret = OPUS_ERR_IO;
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
	return 0;
}

int rm_rf(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : OPUS_ERR_IO;
}

int file_read_all(const char *path, size_t max, char **buf_out, size_t *len_out)
{
	struct sbuf sb;
	char chunk[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? OPUS_ERR_NOTFOUND : OPUS_ERR_IO;
	sbuf_init(&sb, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sb.err = OPUS_ERR_IO;
			break;
		}
		sbuf_add(&sb, chunk, (size_t)n);
		if (sb.err)
			break;
	}
	close(fd);
	if (sb.err) {
		int err = sb.err;
		sbuf_release(&sb);
		return err;
	}
	*buf_out = sbuf_detach(&sb, len_out);
	return 0;
}

int file_write_all(const char *path, const void *buf, size_t len, unsigned mode)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	const char *p = buf;
	int ret = OPUS_ERR_IO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		goto done;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			unlink(tmp);
			goto done;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		goto done;
	}
	ret = 0;
done:
	if (ret)
		log_error("write %s: %s", path, strerror(errno));
	free(tmp);
	return ret;
}
