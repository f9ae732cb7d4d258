/*
 * cmd_test_password.c: `1000proxy test-password`, the hidden entry point
 * t/21-passwords.t drives for what a browser cannot show.
 *
 *   test-password plain   read a password on stdin, print the plain
 *                         argon2id hash the shop made before the pepper
 *                         (with the configured cost), as an old row
 *                         would hold it
 *   test-password nfkc    read a password on stdin, print it NFKC-
 *                         normalised and its length in code points, or
 *                         why it is refused (exit 1)
 */
#include "config.h"

#include <argon2.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cmd.h"
#include "conf.h"
#include "password.h"
#include "util.h"

int
cmd_test_password(const struct conf *c, int argc, char **argv)
{
	char		 pw[PASSWORD_INPUT_MAX + 2], out[PASSWORD_NFKC_MAX];
	char		 phc[PHC_MAX];
	unsigned char	 salt[16];
	const char	*mode = argc > 1 ? argv[1] : "";
	size_t		 n, cps;
	int		 rc = 1;

	if (strcmp(mode, "plain") != 0 && strcmp(mode, "nfkc") != 0) {
		fprintf(stderr, "usage: 1000proxy test-password plain|nfkc < password\n");
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
