/* SPDX-License-Identifier: ISC */
/* fim key generate: make a signing key pair, the secret sealed under a passphrase. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fim/cli.h"
#include "fim/log.h"
#include "fim/trust/sign.h"

#define KEY_USAGE "fim key generate --out DIR"

/* DIR/NAME into BUF, without doubling a trailing slash of DIR. */
static const char *join(const char *dir, const char *name, char *buf, size_t size)
{
	size_t n = strlen(dir);

	snprintf(buf, size, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return buf;
}

/* Which of DIR/fim.key, DIR/fim.pub already exists, or NULL. */
static const char *existing(const char *dir, char *buf, size_t size)
{
	static const char *const names[] = {"fim.key", "fim.pub"};
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (lstat(join(dir, names[i], buf, size), &st) == 0)
			return buf;
	return NULL;
}

/* Asks for the new passphrase (twice on a terminal); returns 0 or an exit status (reported). */
static int ask(const struct fim_opts *o, char *pass, size_t size, size_t *plen)
{
	int r = cli_passphrase(o->passphrase_file, true, pass, size, plen);
	const char *src = getenv("FIM_PASSPHRASE") ? "FIM_PASSPHRASE" : o->passphrase_file;

	switch (r) {
	case 0:
		return 0;
	case -ENOTTY:
		log_error("key generate: no passphrase: set FIM_PASSPHRASE, use --passphrase-file, "
		          "or run on a terminal");
		break;
	case -EINVAL:
		if (!src)
			log_error("key generate: empty passphrase, or the two entries differ");
		else if (src == o->passphrase_file)
			log_error("%s: no passphrase on the first line", src);
		else
			log_error("key generate: FIM_PASSPHRASE is set but empty");
		break;
	case -EMSGSIZE:
		log_error("%s: the passphrase is longer than %d bytes", src ? src : "key generate",
		          SIGN_MAX_PASSPHRASE);
		break;
	case -EFBIG:
		log_error("%s: larger than 4 KiB: not a passphrase file", src);
		break;
	case -EINTR:
		log_error("key generate: interrupted");
		break;
	default:
		log_error("%s: cannot read the passphrase: %s", src ? src : "/dev/tty",
		          strerror(-r));
	}
	return FIM_EXIT_USAGE;
}

static int key_generate(const struct fim_opts *o)
{
	char path[PATH_MAX + 16], pub[PATH_MAX + 16], id[2 * SIGN_ID_BYTES + 1];
	struct sign_key k;
	char *pass;
	size_t plen = 0;
	int r;

	if (existing(o->out, path, sizeof(path))) {
		log_error("%s: already exists; not overwritten", path);
		return FIM_EXIT_IO;
	}
	pass = sign_init() == 0 ? sodium_malloc(SIGN_MAX_PASSPHRASE + 1) : NULL;
	if (!pass) {
		log_error("key generate: cannot allocate locked memory for the passphrase");
		return FIM_EXIT_IO;
	}
	r = ask(o, pass, SIGN_MAX_PASSPHRASE + 1, &plen);
	if (r) {
		sodium_free(pass);
		return r;
	}
	r = sign_generate(o->out, pass, plen);
	sodium_free(pass); /* wipes it */
	if (r == -EEXIST) {
		log_error("%s: already exists; not overwritten",
		          existing(o->out, path, sizeof(path))
		                  ? path
		                  : join(o->out, "fim.key", path, sizeof(path)));
		return FIM_EXIT_IO;
	}
	if (r < 0) {
		log_error("%s: cannot write the key pair: %s", o->out, strerror(-r));
		return FIM_EXIT_IO;
	}
	join(o->out, "fim.pub", pub, sizeof(pub));
	r = sign_load_public(pub, &k);
	if (r < 0) {
		log_error("%s: cannot read back the public key: %s", pub,
		          r == -EBADMSG ? "not a fim public key" : strerror(-r));
		return FIM_EXIT_IO;
	}
	sign_id_hex(&k, id);
	join(o->out, "fim.key", path, sizeof(path));
	printf("fim: key pair written: %s (public, id %s), %s (secret, sealed)\n", pub, id, path);
	if (o->verbose > 0)
		printf("fim: keep %s off the monitored host; give fim %s with --verify-key\n", path,
		       pub);
	return 0;
}

int cmd_key(struct fim_opts *o, int argc, char **argv)
{
	if (argc < 2) {
		log_error("key: which subcommand? (" KEY_USAGE ")");
		return FIM_EXIT_USAGE;
	}
	if (strcmp(argv[1], "generate") != 0) {
		log_error("key: unknown subcommand '%s' (" KEY_USAGE ")", argv[1]);
		return FIM_EXIT_USAGE;
	}
	if (argc > 2) {
		log_error("key generate: unexpected argument '%s'", argv[2]);
		return FIM_EXIT_USAGE;
	}
	if (!o->out || !*o->out) {
		log_error("key generate: where to? (" KEY_USAGE ")");
		return FIM_EXIT_USAGE;
	}
	return key_generate(o);
}
