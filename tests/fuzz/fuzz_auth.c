/*
 * Fuzz target: the credentials a request carries (Authorization and
 * X-Opus-On-Behalf-Of, NUL-separated in the input) checked by auth_check
 * against a real store holding a user, an admin and an application. Any
 * answer is 0, 401 (with a reason) or 429 (with a reason and a wait); an
 * identity is anonymous or has a valid name; an application never
 * administers.
 */
#include "auth/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static struct auth *fuzz_auth;
static struct store *fuzz_store;
static char fuzz_dir[] = "/tmp/opusd-fuzz-auth-XXXXXX";

static void fuzz_cleanup(void)
{
	auth_close(fuzz_auth);
	store_close(fuzz_store);
	rm_rf(fuzz_dir);
}

static void fuzz_setup(void)
{
	struct auth_config ac = {
	    .allow_anonymous = true, .backoff_failures = 3, .backoff_max_s = 2};
	const struct store_actor by = {.name = "fuzz"};
	struct store_account acct = {.name = "alice", .active = true, .quota = {-1, -1, -1}};
	char tok[AUTH_TOKEN_LEN + 1], *path;
	const char *why = NULL;
	struct store_config sc = {.backend = "sqlite"};

	if (!mkdtemp(fuzz_dir))
		abort();
	atexit(fuzz_cleanup);
	path = xasprintf("%s/opusd.db", fuzz_dir);
	sc.path = path;
	if (store_open(&sc, &fuzz_store) < 0 || auth_open(fuzz_store, &ac, &fuzz_auth) < 0)
		abort();
	/* tokens the corpus can name: the sha256 of these texts */
	auth_hash_token("alice-token", acct.token_hash);
	if (auth_user_create(fuzz_auth, &acct, &by, tok, &why) < 0)
		abort();
	snprintf(acct.name, sizeof(acct.name), "root");
	acct.roles = "admin";
	auth_hash_token("root-token", acct.token_hash);
	if (auth_user_create(fuzz_auth, &acct, &by, tok, &why) < 0 ||
	    auth_app_create(fuzz_auth, "front", "copy cat_*", &by, tok, &why) < 0)
		abort();
	free(path);
	log_set_level(LOG_ERROR);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *header = malloc(size + 1);
	const char *behalf = NULL, *reason = NULL;
	struct auth_request rq = {0};
	struct auth_identity who;
	char address[32];
	uint32_t h = 2166136261u;
	size_t hlen;
	int retry = 0, ret;

	if (!fuzz_auth)
		fuzz_setup();
	memcpy(header, data, size);
	header[size] = '\0';
	hlen = strlen(header);
	if (hlen < size)
		behalf = header + hlen + 1;
	rq.authorization = header;
	rq.on_behalf_of = behalf;
	/* many addresses, so that back-off (3 failures here) does not hide the parser */
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	snprintf(address, sizeof(address), "10.%u.%u.%u", h >> 24, (h >> 16) & 255, (h >> 8) & 255);
	rq.address = address;
	ret = auth_check(fuzz_auth, &rq, &who, &reason, &retry);
	if (ret == 0) {
		if (!who.anonymous && !auth_name_is_valid(who.name))
			abort();
		if (who.app[0] && (who.admin || who.grants.admin))
			abort();
		if (who.admin != who.grants.admin)
			abort();
	} else if (ret == OPUS_ERR_AUTH) {
		if (!reason || who.name[0])
			abort();
	} else if (ret == OPUS_ERR_BUSY) {
		if (!reason || retry < 1 || retry > 2)
			abort();
	} else {
		abort();
	}
	free(header);
	return 0;
}
