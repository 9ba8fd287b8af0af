/*
 * http_jdl_admin: the admin side of /jdl, as OPUS has it. An upload is parsed
 * and staged as {jdl_dir}/tmp/{name}.xml; validating it moves it into the
 * served directory and reloads the registry; deleting moves a description to
 * {data_dir}/jdl-archive. Admin only, but for staging and reading a staged
 * description, which a role with submit grants too (OPUS's review of
 * submitted descriptions: an admin validates). Running jobs keep the script they
 * started with (sched copies it at start), so a reload never changes them.
 * An upload is XML (the OPUS VOTable) or JSON (the shape of GET
 * /jdl/{name}/json plus "script"): JSON when the document's first non-blank
 * character is '{'. A JSON one is staged as the VOTable written from it, so
 * validating and serving it is the same as for XML.
 */
#include "http/http-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JDL_DOC_MAX (4 * 1024 * 1024) /* bytes; OPUS descriptions are a few KiB */
#define JDL_PENDING "tmp"	      /* /jdl/tmp/{name}: the name is kept for it */

/* True when the caller may go on; otherwise the reply is set (401 or 403). */
static bool admin_only(struct http_request *req)
{
	if (req->who.admin)
		return true;
	if (req->who.anonymous)
		http_reply_error(req, OPUS_ERR_AUTH, "admin credentials required");
	else
		http_reply_error(req, OPUS_ERR_FORBIDDEN,
				 "only an admin may change job descriptions");
	return false;
}

/* Submitting (staging a description for an admin to validate, and reading
 * what is staged): admins, and holders of a role with submit. */
static bool submit_only(struct http_request *req)
{
	if (req->who.admin || (req->who.grants.submit && !req->who.app[0]))
		return true;
	if (req->who.anonymous)
		http_reply_error(req, OPUS_ERR_AUTH, "credentials required to submit descriptions");
	else
		http_reply_error(
		    req, OPUS_ERR_FORBIDDEN,
		    "only an admin, or a role with submit, may submit job descriptions");
	return false;
}

static void reply_405(struct http_request *req, const char *allow)
{
	req->reply.allow = allow;
	http_reply_text(req, 405, "method %s not allowed here (allowed: %s)\n", req->method_name,
			allow);
}

static char *pending_path(const struct http_request *req, const char *name)
{
	return xasprintf("%s/" JDL_PENDING "/%s.xml", req->srv->deps.conf->jdl_dir, name);
}

/* The document of a POST /jdl: the text field xml (or json), else the
 * first upload. 0 with *buf (owned) and *len, or an error with the reply set. */
static int upload_document(struct http_request *req, char **buf, size_t *len)
{
	const char *xml = http_field_value(req, "xml");
	int ret;
	if (!xml)
		xml = http_field_value(req, "json");
	if (xml) {
		*len = strlen(xml);
		*buf = xstrdup(xml);
		return 0;
	}
	for (size_t i = 0; i < req->nfields; i++) {
		if (!req->fields[i].path)
			continue;
		ret = file_read_all(req->fields[i].path, JDL_DOC_MAX, buf, len);
		if (ret < 0)
			http_reply_error(req, ret, "cannot read the uploaded description");
		return ret;
	}
	http_reply_text(req, 400, "no description: send a file or a field named xml or json\n");
	return OPUS_ERR_INVAL;
}

static bool upload_name_ok(struct http_request *req, const char *name)
{
	if (!name) {
		http_reply_text(req, 400, "the field name is required\n");
		return false;
	}
	if (!name_is_safe(name, JDL_NAME_MAX) || strcmp(name, JDL_PENDING) == 0) {
		http_reply_text(req, 400,
				"bad name: want 1..%d characters of [A-Za-z0-9_-], not \"%s\"\n",
				JDL_NAME_MAX, JDL_PENDING);
		return false;
	}
	return true;
}

/* Parses buf as the description `name`; false with a 400 naming the problem. */
static bool document_ok(struct http_request *req, const char *buf, size_t len, const char *name)
{
	struct jdl *j = NULL;
	char *err = NULL;
	if (jdl_parse_buffer(buf, len, name, &j, &err) < 0) {
		http_reply_text(req, 400, "invalid job description: %s\n", err ? err : "?");
		free(err);
		return false;
	}
	jdl_unref(j);
	return true;
}

/* The one rule that tells the shapes apart: JSON starts with '{'. */
static bool is_json(const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '{';
}

/* Replaces the JSON description in *buf by the VOTable written from it and
 * sets *name_out (owned) to its name; `name`, the form field, may be NULL.
 * false with a 400 naming the problem. */
static bool json_to_xml(struct http_request *req, const char *name, char **buf, size_t *len,
			char **name_out)
{
	struct sbuf xml = SBUF_INIT;
	struct jdl *j = NULL;
	char *err = NULL;
	int ret;

	if (jdl_parse_json(*buf, *len, name, &j, &err) < 0) {
		http_reply_text(req, 400, "invalid job description: %s\n", err ? err : "?");
		free(err);
		return false;
	}
	ret = jdl_write_xml(j, &xml);
	if (ret == 0) {
		*name_out = xstrdup(j->name);
		free(*buf);
		*buf = sbuf_detach(&xml, len);
	} else {
		http_reply_error(req, ret, "cannot write the description as XML");
	}
	sbuf_release(&xml);
	jdl_unref(j);
	return ret == 0;
}

/* POST /jdl: stage an uploaded description; 303 to /jdl/tmp/{name}. A JSON
 * one names itself; a name field, when sent, must agree with it. */
static void jdl_upload(struct http_request *req)
{
	const char *name = http_field_value(req, "name");
	char *buf = NULL, *dir = NULL, *path = NULL, *json_name = NULL;
	size_t len = 0;
	int ret;

	if (upload_document(req, &buf, &len) < 0)
		goto done;
	if (is_json(buf, len)) {
		if (!json_to_xml(req, name, &buf, &len, &json_name))
			goto done;
		name = json_name;
	}
	if (!upload_name_ok(req, name) || !document_ok(req, buf, len, name))
		goto done;
	dir = xasprintf("%s/" JDL_PENDING, req->srv->deps.conf->jdl_dir);
	path = pending_path(req, name);
	ret = mkdir_p(dir, 0755);
	if (ret == 0)
		ret = file_write_all(path, buf, len, 0644);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot stage the description");
		goto done;
	}
	log_info("jdl %s staged by %s", name, req->who.name);
	http_reply_redirect(req, "/jdl/" JDL_PENDING "/%s", name);
done:
	free(buf);
	free(dir);
	free(path);
	free(json_name);
}

/* POST /jdl/tmp/{name}/validate: serve the staged description from now on. */
static void jdl_validate(struct http_request *req, const char *name, const char *path)
{
	char *dest = xasprintf("%s/%s.xml", req->srv->deps.conf->jdl_dir, name);
	struct jdl *j = NULL;
	char *err = NULL;

	if (jdl_parse_file(path, name, &j, &err) < 0) {
		http_reply_text(req, 400, "invalid job description: %s\n", err ? err : "?");
		goto done;
	}
	if (rename(path, dest) != 0) {
		log_error("rename %s to %s: %s", path, dest, strerror(errno));
		http_reply_error(req, OPUS_ERR_IO, "cannot install the description");
		goto done;
	}
	jdl_registry_load(req->srv->deps.jdls);
	log_info("jdl %s validated by %s", name, req->who.name);
	http_reply_redirect(req, "/jdl/%s", name);
done:
	jdl_unref(j);
	free(err);
	free(dest);
}

/* /jdl/tmp/{name}[/validate]: GET shows the staged document, POST validates. */
void http_jdl_pending(struct http_request *req)
{
	const char *name = req->segs[2];
	bool validate = req->nsegs == 4 && strcmp(req->segs[3], "validate") == 0;
	char *path = NULL;

	if (req->nsegs == 4 && !validate) {
		http_reply_text(req, 404, "no such resource: %s\n", req->url);
		goto done;
	}
	if (validate != (req->method == HTTP_POST)) {
		reply_405(req, validate ? "POST" : "GET, HEAD");
		goto done;
	}
	if (validate ? !admin_only(req) : !submit_only(req))
		goto done;
	path = name_is_safe(name, JDL_NAME_MAX) ? pending_path(req, name) : NULL;
	if (!path || access(path, F_OK) != 0) {
		http_reply_text(req, 404, "no pending job description named %s\n", name);
		goto done;
	}
	if (validate) {
		jdl_validate(req, name, path);
		goto done;
	}
	req->reply.status = 200;
	req->reply.content_type = "text/xml; charset=utf-8";
	req->reply.file_path = path;
	path = NULL;
done:
	free(path);
}

/* Moves src to dest, copying when they sit on different file systems. */
static int move_file(const char *src, const char *dest)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;
	if (rename(src, dest) == 0)
		return 0;
	if (errno != EXDEV) {
		log_error("rename %s to %s: %s", src, dest, strerror(errno));
		return OPUS_ERR_IO;
	}
	ret = file_read_all(src, JDL_DOC_MAX, &buf, &len);
	if (ret == 0)
		ret = file_write_all(dest, buf, len, 0644);
	if (ret == 0 && unlink(src) != 0)
		ret = OPUS_ERR_IO;
	free(buf);
	return ret;
}

/* DELETE /jdl/{name}: archive the description; 303 to /jdl. */
void http_jdl_delete(struct http_request *req)
{
	const struct conf *c = req->srv->deps.conf;
	const char *name = req->segs[1];
	char stamp[TIME_STR_MAX], *w = stamp;
	char *src = NULL, *dir = NULL, *dest = NULL;
	int ret;

	if (!admin_only(req))
		return;
	src = xasprintf("%s/%s.xml", c->jdl_dir, name);
	if (!name_is_safe(name, JDL_NAME_MAX) || access(src, F_OK) != 0) {
		http_reply_text(req, 404, "no job description named %s\n", name);
		goto done;
	}
	time_format(time_now_ms(), stamp);
	for (const char *r = stamp; *r; r++) {
		if (*r != ':') /* no colons in file names */
			*w++ = *r;
	}
	*w = '\0';
	dir = xasprintf("%s/jdl-archive", c->data_dir);
	dest = xasprintf("%s/%s-%s.xml", dir, name, stamp);
	ret = mkdir_p(dir, 0755);
	if (ret == 0)
		ret = move_file(src, dest);
	if (ret < 0) {
		http_reply_error(req, ret, "cannot archive the description");
		goto done;
	}
	jdl_registry_load(req->srv->deps.jdls);
	log_info("jdl %s archived to %s by %s", name, dest, req->who.name);
	http_reply_redirect(req, "/jdl");
done:
	free(src);
	free(dir);
	free(dest);
}

/* POST /jdl: staged for review; only an admin validates it. */
void http_jdl_post(struct http_request *req)
{
	if (submit_only(req))
		jdl_upload(req);
}
