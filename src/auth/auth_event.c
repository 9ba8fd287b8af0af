/* auth_event: the per-job token of POST /handler/job_event. See auth.h. */
#include "auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

void auth_event_token(const unsigned char key[AUTH_EVENT_KEY_LEN], const char *job_id,
		      char out[AUTH_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, AUTH_EVENT_KEY_LEN, (const unsigned char *)job_id,
		  strlen(job_id), md, &n) ||
	    n != 32)
		abort();
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[AUTH_TOKEN_LEN] = '\0';
}

bool auth_event_token_ok(const unsigned char key[AUTH_EVENT_KEY_LEN], const char *job_id,
			 const char *token)
{
	char want[AUTH_TOKEN_LEN + 1];
	bool ok;

	if (!key || !job_id || !token || strlen(token) != AUTH_TOKEN_LEN)
		return false;
	auth_event_token(key, job_id, want);
	ok = CRYPTO_memcmp(want, token, AUTH_TOKEN_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
