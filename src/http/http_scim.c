/*
 * http_scim: the SCIM 2.0 subset (RFC 7643/7644) OPUS serves under
 * /scim/v2, so that OPUS's provisioning scripts and SCIM clients manage
 * opusd's accounts. Discovery (ServiceProviderConfig, Schemas,
 * ResourceTypes) answers anyone, as OPUS's does; Users are admin only.
 *
 * Two payloads are taken: SCIM JSON (userName, active, roles as strings or
 * [{"value"}], emails [{"value","primary"}], displayName; PATCH with
 * Operations), and OPUS's forms: POST /scim/v2/Users with name, token,
 * roles (comma-separated), and POST /scim/v2/Users/{name} with token, roles,
 * active. A token the client sends is kept as its sha256 (that is how OPUS
 * sites provision users); one opusd makes is shown once, in the answer to
 * the create. A token is never shown otherwise. Errors are SCIM Error JSON.
 * Attributes opusd does not keep (name, externalId, ...) are ignored, as
 * SCIM asks of a service provider.
 */
#include "http/http-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCIM_USER   "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_LIST   "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_ERROR  "urn:ietf:params:scim:api:messages:2.0:Error"
#define SCIM_PATCH  "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_CTYPE  "application/scim+json"
#define SCIM_PAGE   100
#define SCIM_MAX    1000
#define SCIM_WINDOW 100000 /* startIndex + count beyond this: 400 (a scan) */

static struct store *store_of(const struct http_request *req)
{
	return req->srv->deps.store;
}

static void scim_reply(struct http_request *req, int status, json_t *doc)
{
	http_json_reply(req, status, doc);
	req->reply.content_type = SCIM_CTYPE;
}

static void scim_error(struct http_request *req, int status, const char *scim_type, const char *fmt,
		       ...) OPUS_PRINTF(4, 5);

static void scim_error(struct http_request *req, int status, const char *scim_type, const char *fmt,
		       ...)
{
	struct sbuf detail = SBUF_INIT;
	json_t *doc = json_object();
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&detail, fmt, ap);
	va_end(ap);
	json_object_set_new(doc, "schemas", json_pack("[s]", SCIM_ERROR));
	json_object_set_new(doc, "status", json_sprintf("%d", status));
	if (scim_type)
		json_object_set_new(doc, "scimType", json_string(scim_type));
	json_object_set_new(doc, "detail", json_string(sbuf_str(&detail)));
	sbuf_release(&detail);
	scim_reply(req, status, doc);
	req->reply.www_authenticate = status == 401;
}

/* The error of a refused account change. */
static void scim_refused(struct http_request *req, int err, const char *name, const char *why)
{
	if (err == OPUS_ERR_NOTFOUND)
		scim_error(req, 404, NULL, "no user named %s", name);
	else if (err == OPUS_ERR_EXISTS)
		scim_error(req, 409, "uniqueness", "%s",
			   why ? why : "a user or application has this name, or the token is used");
	else if (err == OPUS_ERR_INVAL)
		scim_error(req, 400, "invalidValue", "%s", why ? why : "invalid value");
	else
		scim_error(req, http_status_of(err), NULL, "%s", opus_strerror(err));
}

static bool scim_admin_only(struct http_request *req)
{
	if (req->who.anonymous)
		scim_error(req, 401, NULL, "admin credentials required");
	else if (req->who.app[0] || !req->who.admin)
		scim_error(req, 403, NULL, "only an admin manages users");
	else
		return true;
	return false;
}

/* ---------------------------------------------------------------- discovery */

static void scim_config(struct http_request *req)
{
	json_t *doc = json_pack(
	    "{s:[s], s:s, s:{s:b}, s:{s:b, s:i, s:i}, s:{s:b, s:i}, s:{s:b}, s:{s:b}, s:{s:b},"
	    " s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}",
	    "schemas", "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
	    "documentationUri", "docs/admin.md", "patch", "supported", 1, "bulk", "supported", 0,
	    "maxOperations", 0, "maxPayloadSize", (int)req->srv->deps.conf->max_form_body, "filter",
	    "supported", 1, "maxResults", SCIM_MAX, "changePassword", "supported", 0, "sort",
	    "supported", 0, "etag", "supported", 0, "authenticationSchemes", "name", "HTTP Basic",
	    "description", "name:token of an admin", "specUri",
	    "http://www.rfc-editor.org/info/rfc2617", "type", "httpbasic", "name",
	    "OAuth Bearer Token", "description", "an admin's token alone", "specUri",
	    "http://www.rfc-editor.org/info/rfc6750", "type", "oauthbearertoken");
	scim_reply(req, 200, doc);
}

static json_t *attribute(const char *name, const char *type, bool multi, const char *mut,
			 const char *returned)
{
	return json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "name", name, "type", type,
			 "multiValued", multi, "required", !strcmp(name, "userName"), "mutability",
			 mut, "returned", returned);
}

static json_t *user_schema(void)
{
	json_t *attrs = json_array();
	json_array_append_new(attrs, attribute("userName", "string", false, "immutable", "always"));
	json_array_append_new(attrs, attribute("active", "boolean", false, "readWrite", "default"));
	json_array_append_new(attrs,
			      attribute("displayName", "string", false, "readWrite", "default"));
	json_array_append_new(attrs, attribute("emails", "complex", true, "readWrite", "default"));
	json_array_append_new(attrs, attribute("roles", "complex", true, "readWrite", "default"));
	json_array_append_new(attrs, attribute("token", "string", false, "writeOnly", "never"));
	return json_pack("{s:[s], s:s, s:s, s:s, s:o}", "schemas",
			 "urn:ietf:params:scim:schemas:core:2.0:Schema", "id", SCIM_USER, "name",
			 "User", "description", "opusd account", "attributes", attrs);
}

static json_t *list_of(json_t *resources)
{
	size_t n = json_array_size(resources);
	return json_pack("{s:[s], s:I, s:i, s:I, s:o}", "schemas", SCIM_LIST, "totalResults",
			 (json_int_t)n, "startIndex", 1, "itemsPerPage", (json_int_t)n, "Resources",
			 resources);
}

static void scim_schemas(struct http_request *req)
{
	json_t *arr = json_array();
	json_array_append_new(arr, user_schema());
	scim_reply(req, 200, list_of(arr));
}

static void scim_schema_user(struct http_request *req)
{
	if (strcmp(req->segs[3], SCIM_USER) != 0)
		scim_error(req, 404, NULL, "no schema %s", req->segs[3]);
	else
		scim_reply(req, 200, user_schema());
}

static json_t *user_type_doc(const struct http_request *req)
{
	return json_pack(
	    "{s:[s], s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}}", "schemas",
	    "urn:ietf:params:scim:schemas:core:2.0:ResourceType", "id", "User", "name", "User",
	    "endpoint", "/Users", "description", "opusd account", "schema", SCIM_USER, "meta",
	    "resourceType", "ResourceType", "location",
	    json_sprintf("%s/scim/v2/ResourceTypes/User", req->srv->deps.conf->base_url));
}

static void scim_types(struct http_request *req)
{
	json_t *arr = json_array();
	json_array_append_new(arr, user_type_doc(req));
	scim_reply(req, 200, list_of(arr));
}

static void scim_type_user(struct http_request *req)
{
	if (strcmp(req->segs[3], "User") != 0)
		scim_error(req, 404, NULL, "no resource type %s", req->segs[3]);
	else
		scim_reply(req, 200, user_type_doc(req));
}

/* -------------------------------------------------------------------- users */

static json_t *scim_user(const struct http_request *req, const struct store_account *a)
{
	json_t *o = json_object();
	json_t *roles = json_array();
	json_t *names = http_json_list(a->roles);
	size_t i;
	json_object_set_new(o, "schemas", json_pack("[s]", SCIM_USER));
	json_object_set_new(o, "id", json_string(a->name));
	json_object_set_new(o, "userName", json_string(a->name));
	json_object_set_new(o, "active", json_boolean(a->active));
	if (a->display_name)
		json_object_set_new(o, "displayName", json_string(a->display_name));
	if (a->email)
		json_object_set_new(o, "emails",
				    json_pack("[{s:s, s:b}]", "value", a->email, "primary", 1));
	for (i = 0; i < json_array_size(names); i++)
		json_array_append_new(roles, json_pack("{s:O}", "value", json_array_get(names, i)));
	json_decref(names);
	json_object_set_new(o, "roles", roles);
	json_object_set_new(
	    o, "meta",
	    json_pack("{s:s, s:o, s:o, s:o}", "resourceType", "User", "created",
		      http_json_time(a->created), "lastModified", http_json_time(a->modified),
		      "location",
		      json_sprintf("%s/scim/v2/Users/%s", req->srv->deps.conf->base_url, a->name)));
	return o;
}

static void reply_user(struct http_request *req, const char *name, int status, const char *token)
{
	struct store_account a = {0};
	int ret = store_account_get(store_of(req), name, &a);
	json_t *doc;
	if (ret < 0) {
		scim_refused(req, ret, name, NULL);
		return;
	}
	doc = scim_user(req, &a);
	store_account_release(&a);
	if (token && *token)
		json_object_set_new(doc, "token", json_string(token));
	if (status == 201)
		req->reply.location =
		    xasprintf("%s/scim/v2/Users/%s", req->srv->deps.conf->base_url, name);
	scim_reply(req, status, doc);
}

/* The name of `userName eq "x"` (the filter SCIM clients send before a
 * create); NULL with a 400 set for any other filter. */
static bool filter_name(struct http_request *req, const char *filter, char *out, size_t len)
{
	char attr[32], op[8];
	int used = 0;
	const char *q;
	if (sscanf(filter, " %31s %7s %n", attr, op, &used) < 2 || strcasecmp(attr, "userName") ||
	    strcasecmp(op, "eq") || filter[used] != '"' || !(q = strchr(filter + used + 1, '"')) ||
	    q[1] != '\0' || (size_t)(q - filter - used - 1) >= len) {
		scim_error(req, 400, "invalidFilter",
			   "only the filter userName eq \"NAME\" is served");
		return false;
	}
	snprintf(out, len, "%.*s", (int)(q - filter - used - 1), filter + used + 1);
	return true;
}

static void users_filtered(struct http_request *req, const char *name)
{
	struct store_account a = {0};
	json_t *arr = json_array();
	if (auth_name_is_valid(name) && store_account_get(store_of(req), name, &a) == 0)
		json_array_append_new(arr, scim_user(req, &a));
	store_account_release(&a);
	scim_reply(req, 200, list_of(arr));
}

static bool query_index(struct http_request *req, const char *key, int64_t min, int64_t dflt,
			int64_t *out)
{
	const char *s = http_field_value(req, key);
	*out = dflt;
	if (!s || (parse_int64(s, out) == 0 && *out >= min && *out <= SCIM_WINDOW))
		return true;
	scim_error(req, 400, "invalidValue", "%s: want a whole number from %lld", key,
		   (long long)min);
	return false;
}

/* The accounts from 1-based index `start`, at most count, a page at a time. */
static int users_window(struct http_request *req, int64_t start, int64_t count, json_t *arr,
			size_t *total)
{
	char after[STORE_NAME_MAX + 1] = "";
	int64_t index = 1;
	int ret = 0;
	while ((int64_t)json_array_size(arr) < count) {
		struct store_account *page = NULL;
		size_t n = 0;
		ret = store_account_list(store_of(req), after, 500, &page, &n, total);
		if (ret < 0 || n == 0)
			break;
		for (size_t i = 0; i < n; i++, index++) {
			if (index >= start && (int64_t)json_array_size(arr) < count)
				json_array_append_new(arr, scim_user(req, &page[i]));
		}
		snprintf(after, sizeof(after), "%s", page[n - 1].name);
		store_accounts_free(page, n);
	}
	if (count == 0 && ret == 0) {
		struct store_account *page = NULL;
		size_t n = 0;
		ret = store_account_list(store_of(req), "", 1, &page, &n, total);
		store_accounts_free(page, n);
	}
	return ret;
}

static void users_list(struct http_request *req)
{
	const char *filter = http_field_value(req, "filter");
	char name[STORE_NAME_MAX + 2];
	int64_t start, count;
	size_t total = 0;
	json_t *arr;

	if (!scim_admin_only(req))
		return;
	if (filter) {
		if (filter_name(req, filter, name, sizeof(name)))
			users_filtered(req, name);
		return;
	}
	if (!query_index(req, "startIndex", 1, 1, &start) ||
	    !query_index(req, "count", 0, SCIM_PAGE, &count))
		return;
	if (count > SCIM_MAX)
		count = SCIM_MAX;
	arr = json_array();
	if (users_window(req, start, count, arr, &total) < 0) {
		json_decref(arr);
		scim_error(req, 500, NULL, "cannot list users");
		return;
	}
	scim_reply(req, 200,
		   json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCIM_LIST, "totalResults",
			     (json_int_t)total, "startIndex", (json_int_t)start, "itemsPerPage",
			     (json_int_t)json_array_size(arr), "Resources", arr));
}

/* The primary (else the first) address of SCIM emails; NULL clears. */
static int emails_of(const json_t *v, struct http_user_change *c, const char **why_out)
{
	const json_t *pick = NULL;
	size_t i;
	json_t *e;
	c->set_email = true;
	if (json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
		return 0;
	if (json_is_string(v)) {
		c->email = xstrdup(json_string_value(v));
		return 0;
	}
	if (!json_is_array(v)) {
		*why_out = "emails: want [{\"value\": address, \"primary\": true}]";
		return OPUS_ERR_INVAL;
	}
	json_array_foreach(v, i, e)
	{
		if (!pick || json_is_true(json_object_get(e, "primary")))
			pick = e;
	}
	pick = json_object_get(pick, "value");
	if (!json_is_string(pick)) {
		*why_out = "emails: each has a string value";
		return OPUS_ERR_INVAL;
	}
	c->email = xstrdup(json_string_value(pick));
	return 0;
}

static int text_of(const json_t *v, char **out, const char *why, const char **why_out)
{
	if (json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v)) {
		*why_out = why;
		return OPUS_ERR_INVAL;
	}
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* One attribute set by a create, PUT or PATCH replace/add. */
static int attr_set(const char *path, const json_t *v, struct http_user_change *c,
		    const char **why_out)
{
	bool b;
	if (!strcasecmp(path, "active")) {
		if (http_json_bool(v, &b) < 0) {
			*why_out = "active: want true or false";
			return OPUS_ERR_INVAL;
		}
		c->active = b;
		return 0;
	}
	if (!strcasecmp(path, "roles")) {
		free(c->roles);
		if (http_json_join(v, ',', &c->roles, why_out) < 0) {
			*why_out = "roles: want [{\"value\": role}], role names or \"a,b\"";
			return OPUS_ERR_INVAL;
		}
		return 0;
	}
	if (!strcasecmp(path, "displayName")) {
		c->set_display_name = true;
		free(c->display_name);
		return text_of(v, &c->display_name, "displayName: want a string", why_out);
	}
	if (!strcasecmp(path, "emails")) {
		free(c->email);
		c->email = NULL;
		return emails_of(v, c, why_out);
	}
	if (!strcasecmp(path, "token") || !strcasecmp(path, "password")) {
		free(c->token);
		return text_of(v, &c->token, "token: want a string", why_out);
	}
	return 1; /* not an attribute opusd keeps */
}

/* Every attribute of a SCIM user object that opusd keeps, into c. */
static int object_set(const json_t *o, struct http_user_change *c, const char **why_out)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		if (attr_set(key, v, c, why_out) < 0)
			return OPUS_ERR_INVAL;
	}
	return 0;
}

/* The body: SCIM JSON, or OPUS's form (name/userName, token, roles, active). */
static int body_change(struct http_request *req, struct http_user_change *c, json_t **doc_out,
		       const char **why_out)
{
	static const char *const fields[] = {"token", "roles", "active"};
	char *jwhy = NULL;
	int ret = 0;
	*doc_out = NULL;
	if (http_json_has_body(req)) {
		ret = http_json_body(req, doc_out, &jwhy);
		if (ret < 0) {
			scim_error(req, 400, "invalidSyntax", "%s", jwhy);
			free(jwhy);
			return ret;
		}
		ret = object_set(*doc_out, c, why_out);
	}
	for (size_t i = 0; ret == 0 && !*doc_out && i < OPUS_ARRAY_LEN(fields); i++) {
		const char *v = http_field_value(req, fields[i]);
		json_t *s = v && *v ? json_string(v) : NULL;
		if (s)
			ret = attr_set(fields[i], s, c, why_out);
		json_decref(s);
	}
	if (ret < 0)
		scim_error(req, 400, "invalidValue", "%s", *why_out);
	return ret < 0 ? ret : 0;
}

static const char *create_name(struct http_request *req, const json_t *doc)
{
	const char *name = doc ? json_string_value(json_object_get(doc, "userName"))
			       : http_field_value(req, "name");
	if (!name && !doc)
		name = http_field_value(req, "userName");
	if (name && auth_name_is_valid(name))
		return name;
	scim_error(req, 400, "invalidValue",
		   "userName (or the form field name): want 1-64 of [A-Za-z0-9._@-]");
	return NULL;
}

static void users_create(struct http_request *req)
{
	struct http_user_change c = {.active = -1};
	struct store_account a = {.active = true, .quota = {-1, -1, -1}};
	char token[AUTH_TOKEN_LEN + 1];
	const char *why = NULL, *name;
	json_t *doc = NULL;
	int ret;

	if (!scim_admin_only(req) || body_change(req, &c, &doc, &why) < 0)
		goto done;
	name = create_name(req, doc);
	if (!name)
		goto done;
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.roles = c.roles;
	a.email = c.email;
	a.display_name = c.display_name;
	a.active = c.active != 0;
	ret = http_users_create(req, &a, c.token, token, &why);
	if (ret < 0)
		scim_refused(req, ret, a.name, why);
	else
		reply_user(req, a.name, 201, token);
done:
	json_decref(doc);
	http_user_change_release(&c);
}

static const char *url_user(struct http_request *req)
{
	if (auth_name_is_valid(req->segs[3]))
		return req->segs[3];
	scim_error(req, 400, "invalidValue", "bad user name: want 1-64 of [A-Za-z0-9._@-]");
	return NULL;
}

static void user_show(struct http_request *req)
{
	const char *name = scim_admin_only(req) ? url_user(req) : NULL;
	if (name)
		reply_user(req, name, 200, NULL);
}

/* Applies c and answers the user, or the SCIM error. */
static void apply_reply(struct http_request *req, const char *name,
			const struct http_user_change *c)
{
	const char *why = NULL;
	int ret = http_users_apply(req, name, c, &why);
	if (ret < 0)
		scim_refused(req, ret, name, why);
	else
		reply_user(req, name, 200, NULL);
}

/* PUT: a replace; displayName and emails left out are cleared, roles and
 * active left out are kept. */
static void user_put(struct http_request *req)
{
	struct http_user_change c = {.active = -1, .set_email = true, .set_display_name = true};
	const char *name = scim_admin_only(req) ? url_user(req) : NULL;
	const char *why = NULL, *user_name;
	json_t *doc = NULL;

	if (!name || body_change(req, &c, &doc, &why) < 0)
		goto done;
	user_name = doc ? json_string_value(json_object_get(doc, "userName")) : NULL;
	if (user_name && strcmp(user_name, name) != 0) {
		scim_error(req, 400, "mutability", "userName cannot change (%s in the URL)", name);
		goto done;
	}
	apply_reply(req, name, &c);
done:
	json_decref(doc);
	http_user_change_release(&c);
}

/* roles after `op` of names on the current list. */
static int roles_edit(const char *current, const char *op, const json_t *v, char **out,
		      const char **why_out)
{
	json_t *have = http_json_list(current);
	char *names = NULL;
	json_t *change;
	size_t i, j;
	json_t *x;
	int ret = v ? http_json_join(v, ',', &names, why_out) : 0;
	change = http_json_list(names);
	free(names);
	if (ret == 0) {
		json_array_foreach(change, i, x)
		{
			bool found = false;
			for (j = 0; j < json_array_size(have); j++)
				found = found || json_equal(x, json_array_get(have, j));
			if (!strcasecmp(op, "add") && !found)
				json_array_append(have, x);
			for (j = json_array_size(have); !strcasecmp(op, "remove") && j-- > 0;) {
				if (json_equal(json_array_get(have, j), x))
					json_array_remove(have, j);
			}
		}
		if (!strcasecmp(op, "remove") && !v)
			json_array_clear(have);
		ret = http_json_join(have, ',', out, why_out);
	}
	json_decref(have);
	json_decref(change);
	return ret;
}

/* One PATCH operation into c; cur is the account's state before the PATCH. */
static int patch_op(const json_t *op, const struct store_account *cur, struct http_user_change *c,
		    const char **why_out)
{
	const char *kind = json_string_value(json_object_get(op, "op"));
	const char *path = json_string_value(json_object_get(op, "path"));
	const json_t *v = json_object_get(op, "value");
	bool remove = kind && !strcasecmp(kind, "remove");
	int ret;

	if (!kind || (strcasecmp(kind, "add") && strcasecmp(kind, "replace") && !remove)) {
		*why_out = "Operations: op is add, replace or remove";
		return OPUS_ERR_INVAL;
	}
	if (!path && (remove || !json_is_object(v))) {
		*why_out = "Operations: a path is needed";
		return OPUS_ERR_INVAL;
	}
	if (!path)
		return object_set(v, c, why_out); /* {"op": "replace", "value": {...}} */
	if (!strcasecmp(path, "roles") && strcasecmp(kind, "replace")) {
		char *roles = NULL;
		ret = roles_edit(c->roles ? c->roles : cur->roles, kind, v, &roles, why_out);
		free(c->roles);
		c->roles = roles;
		return ret;
	}
	if (remove && (!strcasecmp(path, "displayName") || !strcasecmp(path, "emails")))
		return attr_set(path, json_null(), c, why_out);
	ret = remove || !v ? 1 : attr_set(path, v, c, why_out);
	if (ret > 0) {
		*why_out = "Operations: path is one of active, roles, displayName, emails, token";
		return OPUS_ERR_INVAL;
	}
	return ret;
}

static int patch_ops(struct http_request *req, const json_t *doc, const char *name,
		     struct http_user_change *c, const char **why_out)
{
	const json_t *ops = json_object_get(doc, "Operations");
	struct store_account cur = {0};
	size_t i;
	json_t *op;
	int ret = store_account_get(store_of(req), name, &cur);
	if (ret < 0)
		return ret;
	if (!json_is_array(ops) || json_array_size(ops) == 0) {
		*why_out = "Operations: want a non-empty array (schema " SCIM_PATCH ")";
		ret = OPUS_ERR_INVAL;
	}
	json_array_foreach(ops, i, op)
	{
		if (ret == 0)
			ret = patch_op(op, &cur, c, why_out);
	}
	store_account_release(&cur);
	return ret;
}

static void user_patch(struct http_request *req)
{
	struct http_user_change c = {.active = -1};
	const char *name = scim_admin_only(req) ? url_user(req) : NULL;
	const char *why = NULL;
	char *jwhy = NULL;
	json_t *doc = NULL;
	int ret;

	if (!name)
		return;
	if (http_json_body(req, &doc, &jwhy) < 0) {
		scim_error(req, 400, "invalidSyntax", "%s", jwhy);
		free(jwhy);
		return;
	}
	ret = patch_ops(req, doc, name, &c, &why);
	if (ret < 0)
		scim_refused(req, ret, name, why);
	else
		apply_reply(req, name, &c);
	json_decref(doc);
	http_user_change_release(&c);
}

/* POST /scim/v2/Users/{name}: OPUS's change, a form of token, roles, active. */
static void user_post(struct http_request *req)
{
	struct http_user_change c = {.active = -1};
	const char *name = scim_admin_only(req) ? url_user(req) : NULL;
	const char *why = NULL;
	json_t *doc = NULL;

	if (name && body_change(req, &c, &doc, &why) == 0)
		apply_reply(req, name, &c);
	json_decref(doc);
	http_user_change_release(&c);
}

static void user_delete(struct http_request *req)
{
	const char *name = scim_admin_only(req) ? url_user(req) : NULL;
	struct http_actor act;
	int ret;
	if (!name)
		return;
	http_json_actor(req, &act);
	ret = auth_user_delete(req->srv->deps.auth, name, &act.by);
	if (ret < 0)
		scim_refused(req, ret, name, NULL);
	else
		http_json_no_content(req);
}

static const struct http_json_route scim_routes[] = {
    {"ServiceProviderConfig", HTTP_GET, scim_config},
    {"Schemas", HTTP_GET, scim_schemas},
    {"Schemas/*", HTTP_GET, scim_schema_user},
    {"ResourceTypes", HTTP_GET, scim_types},
    {"ResourceTypes/*", HTTP_GET, scim_type_user},
    {"Users", HTTP_GET, users_list},
    {"Users", HTTP_POST, users_create},
    {"Users/*", HTTP_GET, user_show},
    {"Users/*", HTTP_PUT, user_put},
    {"Users/*", HTTP_PATCH, user_patch},
    {"Users/*", HTTP_POST, user_post},
    {"Users/*", HTTP_DELETE, user_delete},
};

void http_scim(struct http_request *req)
{
	if (strcmp(req->segs[1], "v2") != 0) {
		scim_error(req, 404, NULL, "SCIM is served under /scim/v2");
		return;
	}
	http_json_dispatch(req, 2, scim_routes, OPUS_ARRAY_LEN(scim_routes));
	/* 404 and 405 from the dispatch are text: SCIM wants its Error JSON */
	if ((req->reply.status == 404 || req->reply.status == 405) &&
	    (!req->reply.content_type || strcmp(req->reply.content_type, SCIM_CTYPE) != 0)) {
		char *allow = req->reply.allow_owned;
		req->reply.allow_owned = NULL;
		scim_error(req, req->reply.status, NULL, "no such resource or method: %s %s",
			   req->method_name, req->url);
		req->reply.allow_owned = allow;
	}
}
