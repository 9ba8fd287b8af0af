/*
 * http_store: the entity store over HTTP. GET /store?ID={entity id} and
 * OPUS's /store/{entity id}/{file name} serve an entity's bytes from its
 * blob, streamed from the file (never read into memory), with its content
 * type, its length and its sha256 as Repr-Digest (RFC 9530) and Digest
 * (RFC 3230). Only the owner or an admin gets them: an unknown id and
 * another user's entity get the same 404, so ids cannot be probed. An
 * entity whose file went with its jobs (DELETE, destruction) is 410 Gone;
 * its provenance stays. One by-id lookup per request.
 */
#include "http/http-int.h"

#include <stdlib.h>
#include <string.h>

#define NOT_FOUND "no such entity (or not yours)"

/* The entity id of the URL: /store/{id}[/{name}] or /store?ID={id}. */
static const char *entity_id_of(const struct http_request *req)
{
	return req->nsegs >= 2 ? req->segs[1] : http_field_value(req, "ID");
}

/* A file name safe inside a quoted Content-Disposition parameter. */
static bool name_is_quotable(const char *s)
{
	if (!s || !*s || strlen(s) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '/')
			return false;
	}
	return true;
}

/* The headers of an entity's bytes; its blob becomes the reply's file. */
static void reply_entity(struct http_request *req, const struct store_entity *e)
{
	char b64[45];
	char *v;

	req->reply.status = 200;
	req->reply.content_type = "application/octet-stream";
	if (e->content_type && *e->content_type)
		req->reply.content_type_owned = xstrdup(e->content_type);
	req->reply.file_path = prov_blob_path(req->srv->deps.prov, e->sha256);
	if (!req->reply.file_path) {
		http_reply_error(req, OPUS_ERR_INTERNAL, "cannot locate the entity's bytes");
		return;
	}
	if (sha256_base64(e->sha256, b64) == 0) {
		v = xasprintf("sha-256=:%s:", b64);
		http_reply_header(req, "Repr-Digest", v);
		free(v);
		v = xasprintf("sha-256=%s", b64);
		http_reply_header(req, "Digest", v);
		free(v);
	}
	if (name_is_quotable(e->file_name)) {
		v = xasprintf("inline; filename=\"%s\"", e->file_name);
		http_reply_header(req, "Content-Disposition", v);
		free(v);
	}
	http_reply_provenance(req, http_entity_prov_url(req, e->id));
}

void http_store(struct http_request *req)
{
	const char *id = entity_id_of(req);
	struct store_entity e = {0};
	int ret = OPUS_ERR_NOTFOUND;

	if (!req->srv->deps.prov) {
		http_reply_text(req, 404, "the entity store is not served here\n");
		return;
	}
	if (!id || !*id) {
		http_reply_text(req, 400, "ID: give an entity id, /store?ID=e...\n");
		return;
	}
	if (store_entity_id_is_valid(id))
		ret = store_entity_get(req->srv->deps.store, id, &e);
	if (ret == 0 && !auth_may_access(&req->who, e.owner))
		ret = OPUS_ERR_NOTFOUND; /* the same answer as an unknown id */
	if (ret == 0 && e.generated_by && !http_check_ids(req, &e.generated_by, 1))
		goto done; /* made by a job of a description out of reach: 403 */
	if (ret == OPUS_ERR_NOTFOUND)
		http_reply_text(req, 404, "%s: %s\n", id, NOT_FOUND);
	else if (ret < 0)
		http_reply_error(req, ret, "cannot read the entity store");
	else if (e.invalidation_time)
		http_reply_text(req, 410,
				"%s: its file was removed with the job%s%s that held it; its "
				"provenance stays at %s/provsap?ID=%s\n",
				id, e.invalidated_by ? " " : "",
				e.invalidated_by ? e.invalidated_by : "",
				req->srv->deps.conf->base_url, id);
	else
		reply_entity(req, &e);
done:
	store_entity_release(&e);
}
