/* auth: Basic credentials against hashed tokens. See auth.h. */
#include "auth/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void auth_hash_token(const char *token, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) || n != 32)
		abort();
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* Decodes "Basic BASE64(name:token)" into name and token buffers. */
static int parse_basic(const char *header, char *name, size_t name_len, char *token,
		       size_t token_len)
{
	unsigned char decoded[512];
	const char *b64, *colon;
	size_t len;
	int n;

	if (strncasecmp(header, "Basic ", 6) != 0)
		return OPUS_ERR_AUTH;
	b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	len = strlen(b64);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 >= sizeof(decoded))
		return OPUS_ERR_AUTH;
	n = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return OPUS_ERR_AUTH;
	/* EVP_DecodeBlock counts padding as zero bytes: drop them. */
	while (len > 0 && b64[len - 1] == '=') {
		len--;
		n--;
	}
	decoded[n] = '\0';
	if (memchr(decoded, '\0', (size_t)n))
		return OPUS_ERR_AUTH;
	colon = strchr((const char *)decoded, ':');
	if (!colon || (size_t)(colon - (const char *)decoded) >= name_len ||
	    strlen(colon + 1) >= token_len)
		return OPUS_ERR_AUTH;
	memcpy(name, decoded, (size_t)(colon - (const char *)decoded));
	name[colon - (const char *)decoded] = '\0';
	memcpy(token, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int auth_check(struct store *st, const char *authorization, bool allow_anonymous,
	       struct auth_identity *out)
{
	char name[AUTH_NAME_MAX + 1], token[256], hash[65], stored[65];
	bool admin = false;

	memset(out, 0, sizeof(*out));
	if (!authorization || !*authorization) {
		out->anonymous = true;
		return allow_anonymous ? 0 : OPUS_ERR_AUTH;
	}
	if (parse_basic(authorization, name, sizeof(name), token, sizeof(token)) < 0)
		return OPUS_ERR_AUTH;
	/* "Basic Og==" (":"): clients that always send credentials say "nobody" so. */
	if (!*name && !*token) {
		out->anonymous = true;
		return allow_anonymous ? 0 : OPUS_ERR_AUTH;
	}
	/* A token without its account name cannot be checked: refused, not anonymous,
	 * so that a client that meant to authenticate learns it did not. */
	if (!name_is_safe(name, AUTH_NAME_MAX))
		return OPUS_ERR_AUTH;
	if (store_account_get(st, name, stored, &admin) < 0)
		return OPUS_ERR_AUTH;
	auth_hash_token(token, hash);
	if (CRYPTO_memcmp(hash, stored, 64) != 0)
		return OPUS_ERR_AUTH;
	memcpy(out->name, name, strlen(name) + 1);
	out->admin = admin;
	return 0;
}

int auth_user_add(struct store *st, const char *name, bool admin,
		  char token_out[AUTH_TOKEN_LEN + 1])
{
	char hash[65];
	if (!name_is_safe(name, AUTH_NAME_MAX))
		return OPUS_ERR_INVAL;
	rand_hex(token_out, AUTH_TOKEN_LEN / 2);
	auth_hash_token(token_out, hash);
	return store_account_put(st, name, hash, admin);
}

bool auth_may_access(const struct auth_identity *who, const char *owner)
{
	if (who->admin)
		return true;
	if (who->anonymous)
		return owner == NULL;
	return owner && strcmp(owner, who->name) == 0;
}
