/*
 * cmd_test_keys.c: `1000proxy test-keys`, the hidden entry point
 * t/21-passwords.t and t/22-keys.t drive for what a browser cannot show.
 *
 *   test-keys plain   read a password on stdin, print the plain
 *                         argon2id hash the shop made before the pepper
 *                         (with the configured cost), as an old row
 *                         would hold it
 *   test-keys nfkc    read a password on stdin, print it NFKC-
 *                         normalised and its length in code points, or
 *                         why it is refused (exit 1)
 *   test-keys derive      with the key file loaded, print customer 1's
 *                         subscription token, order item 1's panel
 *                         client credential and sub id (values a key
 *                         rotation must leave as they are)
 */
#include "config.h"

#include <argon2.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "cmd.h"
#include "conf.h"
#include "password.h"
#include "seal.h"
#include "svc.h"
#include "util.h"
#include "xui_client.h"

int
cmd_test_keys(const struct conf *c, int argc, char **argv)
{
	char		 pw[PASSWORD_INPUT_MAX + 2], out[PASSWORD_NFKC_MAX];
	char		 phc[PHC_MAX];
	unsigned char	 salt[16];
	const char	*mode = argc > 1 ? argv[1] : "";
	size_t		 n, cps;
	int		 rc = 1;

	if (strcmp(mode, "derive") == 0) {
		unsigned char	 key[SEAL_KEY_LEN];
		char		 err[512], tok[SVC_TOKEN_LEN + 1], cred[64], sub[17];

		if (seal_key_load(c->key_file, key, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "1000proxy: %s\n", err);
			return 1;
		}
		if (svc_token_derive(key, 1, 0, tok) != 0 ||
		    client_cred(key, 1, 0, "vless", NULL, cred, sizeof(cred)) != 0)
			rc = 1;
		else {
			client_sub_id(key, 1, sub);
			printf("%s %s %s\n", tok, cred, sub);
			rc = 0;
		}
		OPENSSL_cleanse(key, sizeof(key));
		return rc;
	}
	if (strcmp(mode, "plain") != 0 && strcmp(mode, "nfkc") != 0) {
		fprintf(stderr, "usage: 1000proxy test-keys plain|nfkc|derive < password\n");
		return 2;
	}
	if (fgets(pw, sizeof(pw), stdin) == NULL)
		pw[0] = '\0';
	n = strlen(pw);
	if (n > 0 && pw[n - 1] == '\n')
		pw[--n] = '\0';
	if (strcmp(mode, "plain") == 0) {
		random_bytes(salt, sizeof(salt));
		if (argon2id_hash_encoded((uint32_t)c->argon2_t, (uint32_t)c->argon2_m_kib,
		    (uint32_t)c->argon2_p, pw, n, salt, sizeof(salt), 32, phc,
		    sizeof(phc)) == ARGON2_OK) {
			printf("%s\n", phc);
			rc = 0;
		}
	} else {
		switch (password_nfkc(pw, out, &cps)) {
		case 0:
			printf("%s\n%zu\n", out, cps);
			rc = 0;
			break;
		case PW_NFKC_LONG:
			printf("too long\n");
			break;
		default:
			printf("invalid\n");
		}
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(out, sizeof(out));
	return rc;
}
