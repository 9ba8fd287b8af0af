/*
 * hash: sha256 of a byte stream, as 64 lowercase hex digits (OpenSSL EVP).
 * A stream is fed while the bytes pass (an upload, a download, a copy), so
 * that no file is read twice; sha256_file() is for files already on disk and
 * runs on workers, never on a request thread.
 */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sha256_stream {
	EVP_MD_CTX *ctx;
};

struct sha256_stream *sha256_begin(void)
{
	struct sha256_stream *h = xcalloc(1, sizeof(*h));

	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		log_error("sha256: cannot initialise a digest");
		abort();
	}
	return h;
}

void sha256_add(struct sha256_stream *h, const void *buf, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, buf, len) != 1) {
		log_error("sha256: digest update failed");
		abort();
	}
}

static void hex_of(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

void sha256_end(struct sha256_stream *h, char hex_out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32) {
		log_error("sha256: digest final failed");
		abort();
	}
	hex_of(md, n, hex_out);
	sha256_abandon(h);
}

void sha256_abandon(struct sha256_stream *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256_hex(const void *buf, size_t len, char hex_out[65])
{
	struct sha256_stream *h = sha256_begin();

	sha256_add(h, buf, len);
	sha256_end(h, hex_out);
}

int sha256_base64(const char *hex, char out[45])
{
	unsigned char bin[32];

	if (strlen(hex) != 64)
		return OPUS_ERR_INVAL;
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (size_t k = 0; k < 2; k++) {
			char c = hex[2 * i + k];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (d < 0)
				return OPUS_ERR_INVAL;
			v = v * 16 + d;
		}
		bin[i] = (unsigned char)v;
	}
	return EVP_EncodeBlock((unsigned char *)out, bin, 32) == 44 ? 0 : OPUS_ERR_INTERNAL;
}

int sha256_file(const char *path, char hex_out[65], int64_t *size_out)
{
	char buf[64 * 1024];
	struct sha256_stream *h;
	int64_t size = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return OPUS_ERR_IO;
	h = sha256_begin();
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sha256_abandon(h);
			close(fd);
			return OPUS_ERR_IO;
		}
		sha256_add(h, buf, (size_t)n);
		size += n;
	}
	close(fd);
	sha256_end(h, hex_out);
	if (size_out)
		*size_out = size;
	return 0;
}
