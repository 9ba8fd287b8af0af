/*
 * fetch_ref: what an input value refers to (fetch.h), decided from its text
 * alone: a stored entity, an http(s) or file URL, or an ID for the url
 * template. Nothing here touches the network or the file system.
 */
#include "fetch/fetch-int.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESULT_ID_MAX 255

void fetch_ref_release(struct fetch_ref *r)
{
	if (!r)
		return;
	free(r->url);
	free(r->path);
	free(r->result_id);
	memset(r, 0, sizeof(*r));
}

static bool is_hex32(const char *s, size_t len)
{
	if (len != 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	}
	return true;
}

static bool result_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > RESULT_ID_MAX || s[0] == '.')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* "{32 hex}/{result id}" into out; false when value has another shape. */
static bool parse_entity(const char *value, struct fetch_ref *out)
{
	const char *slash = strchr(value, '/');
	if (!slash || !is_hex32(value, (size_t)(slash - value)) || !result_id_ok(slash + 1))
		return false;
	out->kind = FETCH_ENTITY;
	memcpy(out->job_id, value, 32);
	out->job_id[32] = '\0';
	out->result_id = xstrdup(slash + 1);
	return true;
}

/* An entity id of the entity store: 'e' and 32 lowercase hex digits. */
static bool parse_entity_id(const char *value, struct fetch_ref *out)
{
	if (value[0] != 'e' || strlen(value) != 33 || !is_hex32(value + 1, 32))
		return false;
	out->kind = FETCH_ENTITY;
	memcpy(out->entity_id, value, 34);
	return true;
}

/* {base_url}/rest/{jobdef}/{32 hex}/results/{rid}: one of our own results. */
static bool parse_own_url(const struct fetch_policy *p, const char *value, struct fetch_ref *out)
{
	size_t blen = p->base_url ? strlen(p->base_url) : 0;
	const char *rest, *id, *tail;
	char *entity;
	bool ok;

	if (blen == 0 || strncmp(value, p->base_url, blen) != 0 ||
	    strncmp(value + blen, "/rest/", 6) != 0)
		return false;
	rest = value + blen + 6;
	id = strchr(rest, '/');
	if (!id || id == rest)
		return false;
	id++;
	tail = id + 32;
	if (strlen(id) < 32 || strncmp(tail, "/results/", 9) != 0)
		return false;
	entity = xasprintf("%.32s/%s", id, tail + 9);
	ok = parse_entity(entity, out);
	free(entity);
	return ok;
}

/* Does value start with "scheme://"? Then *scheme_len is the scheme's length. */
static bool has_scheme(const char *value, size_t *scheme_len)
{
	size_t i = 0;
	if (!isalpha((unsigned char)value[0]))
		return false;
	while (isalnum((unsigned char)value[i]) || value[i] == '+' || value[i] == '-' ||
	       value[i] == '.')
		i++;
	*scheme_len = i;
	return strncmp(value + i, "://", 3) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s; NULL when an escape is malformed or decodes to NUL. */
static char *pct_decode(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		hi = hexval(s[i + 1]); /* '\0' gives -1: never reads past the end */
		lo = hi >= 0 ? hexval(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

bool fetch_below_root(const struct fetch_policy *p, const char *path)
{
	for (size_t i = 0; i < p->nroots; i++) {
		size_t len = strlen(p->file_roots[i]);
		while (len > 1 && p->file_roots[i][len - 1] == '/')
			len--;
		if (strncmp(path, p->file_roots[i], len) == 0 &&
		    (path[len] == '/' || (len == 1 && p->file_roots[i][0] == '/')))
			return true;
	}
	return false;
}

static bool has_dotdot(const char *path)
{
	for (const char *s = path; (s = strstr(s, "..")) != NULL; s += 2) {
		if ((s == path || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return true;
	}
	return false;
}

static int parse_file_url(const struct fetch_policy *p, const char *value, struct fetch_ref *out,
			  char **why_out)
{
	const char *rest = value + 7; /* after "file://" */
	char *path;

	if (strncasecmp(rest, "localhost/", 10) == 0)
		rest += 9;
	if (rest[0] != '/') {
		*why_out = xstrdup("a file URL must be file:///absolute/path");
		return OPUS_ERR_INVAL;
	}
	path = pct_decode(rest);
	if (!path || strchr(path, '?') || strchr(path, '#') || has_dotdot(path)) {
		free(path);
		*why_out = xstrdup("the file URL's path is not a plain absolute path");
		return OPUS_ERR_INVAL;
	}
	if (!fetch_below_root(p, path)) {
		*why_out = xasprintf("%s is not below a directory opusd may read "
				     "(configuration: inputs.file_roots)",
				     path);
		free(path);
		return OPUS_ERR_INVAL;
	}
	out->kind = FETCH_FILE;
	out->url = xstrdup(value);
	out->path = path;
	return 0;
}

/* http(s): libcurl's own URL parser decides whether it is well formed. */
static int parse_http_url(const char *value, struct fetch_ref *out, char **why_out)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int ret = OPUS_ERR_INVAL;

	if (!u)
		return OPUS_ERR_INTERNAL;
	/* libcurl reads "http:///host" as http://host; say it is malformed. */
	if (strstr(value, ":///") || curl_url_set(u, CURLUPART_URL, value, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
		*why_out = xstrdup("not a well-formed http(s) URL");
		goto done;
	}
	out->kind = FETCH_HTTP;
	out->url = xstrdup(value);
	ret = 0;
done:
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int parse_url(const struct fetch_policy *p, const char *value, size_t scheme_len,
		     struct fetch_ref *out, char **why_out)
{
	if (strpbrk(value, " \t\r\n")) {
		*why_out = xstrdup("a URL must not contain spaces or line breaks");
		return OPUS_ERR_INVAL;
	}
	if (scheme_len == 4 && strncasecmp(value, "file", 4) == 0)
		return parse_file_url(p, value, out, why_out);
	if ((scheme_len == 4 && strncasecmp(value, "http", 4) == 0) ||
	    (scheme_len == 5 && strncasecmp(value, "https", 5) == 0))
		return parse_http_url(value, out, why_out);
	*why_out =
	    xasprintf("scheme %.*s is not allowed (http, https, file)", (int)scheme_len, value);
	return OPUS_ERR_INVAL;
}

/* The template with every $ID replaced by the percent-encoded id ('/' kept). */
static char *expand_template(const char *tmpl, const char *id)
{
	struct sbuf sb = SBUF_INIT;
	const char *s = tmpl, *hit;

	while ((hit = strstr(s, "$ID")) != NULL) {
		sbuf_add(&sb, s, (size_t)(hit - s));
		for (const unsigned char *c = (const unsigned char *)id; *c; c++) {
			if (isalnum(*c) || strchr("-._~/", *c))
				sbuf_addc(&sb, (char)*c);
			else
				sbuf_addf(&sb, "%%%02X", *c);
		}
		s = hit + 3;
	}
	sbuf_adds(&sb, s);
	return sbuf_detach(&sb, NULL);
}

int fetch_ref_parse(const struct fetch_policy *p, const char *value, const char *url_template,
		    struct fetch_ref *out, char **why_out)
{
	size_t scheme_len = 0;
	char *url;
	int ret;

	memset(out, 0, sizeof(*out));
	*why_out = NULL;
	if (!value || !*value) {
		*why_out = xstrdup("empty reference");
		return OPUS_ERR_INVAL;
	}
	if (parse_entity(value, out) || parse_entity_id(value, out) || parse_own_url(p, value, out))
		return 0;
	if (has_scheme(value, &scheme_len))
		return parse_url(p, value, scheme_len, out, why_out);
	if (!url_template || !strstr(url_template, "$ID")) {
		*why_out = xstrdup("not a URL, not a stored entity ({job id}/{result id} or an "
				   "entity id), and the description has no url template for IDs");
		return OPUS_ERR_INVAL;
	}
	url = expand_template(url_template, value);
	if (!has_scheme(url, &scheme_len)) {
		*why_out = xasprintf("the url template gives %s, not a URL", url);
		free(url);
		return OPUS_ERR_INVAL;
	}
	ret = parse_url(p, url, scheme_len, out, why_out);
	free(url);
	return ret;
}

bool fetch_media_type_eq(const char *a, const char *b)
{
	size_t la = strcspn(a, "; \t"), lb = strcspn(b, "; \t");
	return la == lb && strncasecmp(a, b, la) == 0;
}

char **fetch_refs_split(const char *value, size_t *n_out)
{
	char **refs = NULL;
	size_t n = 0;

	for (const char *s = value ? value : ""; *s;) {
		size_t len = strcspn(s, "\n"), start = strspn(s, " \t\r"), end = len;
		while (end > start &&
		       (s[end - 1] == '\r' || s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		if (end > start) {
			refs = xrealloc(refs, (n + 1) * sizeof(*refs));
			refs[n++] = xstrndup(s + start, end - start);
		}
		s += len + (s[len] == '\n');
	}
	*n_out = n;
	return refs;
}

void fetch_refs_free(char **refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(refs[i]);
	free(refs);
}
