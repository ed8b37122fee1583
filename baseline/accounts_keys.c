/* SPDX-License-Identifier: ISC */
/* The SSH keys that let users in: where sshd_config says they are, and authorized_keys files. */
#include <fnmatch.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fim/core/endian.h"
#include "fim/core/hash.h"
#include "baseline/accounts.h"
#include "baseline/accounts_int.h"
#include "baseline/rootfs.h"
#include "fim/core/error.h"
/* ---------- sshd_config: where the keys are ---------- */

static const char *const default_keyfiles[] = {".ssh/authorized_keys", ".ssh/authorized_keys2"};

void accounts_keycfg_free(struct accounts_keycfg *cfg)
{
	for (unsigned i = 0; i < cfg->n; i++)
		free(cfg->file[i]);
	*cfg = (struct accounts_keycfg){0};
}

/*
 * Next argument of L from *pos, dequoted into OUT (room for L.n + 1
 * bytes), the way sshd splits arguments: blanks separate, single or
 * double quotes group, a backslash escapes a quote, a backslash or (outside
 * quotes) a space, and a word starting with '#' ends the line. Returns 1,
 * 0 at the end, or -EBADMSG for an unterminated quote.
 */
static int next_arg(struct span l, size_t *pos, char *out)
{
	size_t i = *pos, o = 0;
	char q = 0;

	while (i < l.n && is_blank(l.p[i]))
		i++;
	if (i == l.n || l.p[i] == '#') {
		*pos = l.n;
		return 0;
	}
	for (; i < l.n; i++) {
		char c = l.p[i], d = i + 1 < l.n ? l.p[i + 1] : '\0';

		if (c == '\\' && (d == '\'' || d == '"' || d == '\\' || (!q && d == ' ')))
			out[o++] = l.p[++i];
		else if (!q && is_blank(c))
			break;
		else if (!q && (c == '"' || c == '\''))
			q = c;
		else if (q && c == q)
			q = 0;
		else
			out[o++] = c;
	}
	if (q)
		return -EBADMSG;
	out[o] = '\0';
	*pos = i;
	return 1;
}

/* True when the %-tokens of PATH are ones sshd expands for AuthorizedKeysFile. */
static bool tokens_ok(const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p != 'h' && *p != 'u' && *p != 'U' && *p != '%')
			return false;
	}
	return true;
}

static int keycfg_add(struct accounts_keycfg *cfg, const char *path)
{
	if (cfg->n == ACCOUNTS_MAX_KEYFILES)
		return -E2BIG;
	cfg->file[cfg->n] = strdup(path);
	if (!cfg->file[cfg->n])
		return -ENOMEM;
	cfg->n++;
	return 0;
}

static int keycfg_file(const struct collect_ctx *ctx, struct accounts_keycfg *cfg, const char *path,
                       unsigned depth);

static int keycfg_include(const struct collect_ctx *ctx, struct accounts_keycfg *cfg,
                          const char *from, unsigned line, const char *arg, unsigned depth)
{
	char full[PATH_MAX], *slash, **names = NULL;
	const char *dir, *base;
	size_t n = 0;
	int w, r;

	if (depth + 1 >= ACCOUNTS_MAX_DEPTH) {
		collect_problem(ctx, from, line, -ELOOP,
		                "Include nested more than %u deep: not followed",
		                ACCOUNTS_MAX_DEPTH);
		return 0;
	}
	w = snprintf(full, sizeof(full), "%s%s", arg[0] == '/' ? "" : "/etc/ssh/", arg);
	if (w < 0 || (size_t)w >= sizeof(full)) {
		collect_problem(ctx, from, line, -ENAMETOOLONG,
		                "Include path too long: not followed");
		return 0;
	}
	slash = strrchr(full, '/');
	base = slash + 1;
	if (!strpbrk(full, "*?["))
		return keycfg_file(ctx, cfg, full, depth + 1);
	*slash = '\0';
	dir = full[0] ? full : "/";
	if (strpbrk(dir, "*?[")) {
		collect_problem(ctx, from, line, -EOPNOTSUPP,
		                "Include with wildcards in a directory name: not followed");
		return 0;
	}
	r = rootfs_list(ctx->rootfd, dir, &names, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		collect_problem(ctx, dir, 0, r, "Include directory cannot be listed: %s",
		                err_cause(r));
		return 0;
	}
	r = 0;
	for (size_t i = 0; r == 0 && i < n && !cfg->stop; i++) {
		char one[PATH_MAX];

		if (fnmatch(base, names[i], FNM_PERIOD) != 0)
			continue;
		w = snprintf(one, sizeof(one), "%s/%s", strcmp(dir, "/") ? dir : "", names[i]);
		if (w < 0 || (size_t)w >= sizeof(one))
			continue;
		r = keycfg_file(ctx, cfg, one, depth + 1);
	}
	rootfs_names_free(names, n);
	return r;
}

static int keycfg_keyfiles(const struct collect_ctx *ctx, struct accounts_keycfg *cfg,
                           const char *path, unsigned line, struct span l, size_t pos, char *arg)
{
	size_t p = pos;
	unsigned count = 0;
	int r;

	/* sshd refuses a line it cannot split: check it whole before taking it */
	while ((r = next_arg(l, &p, arg)) > 0)
		count++;
	if (r < 0) {
		collect_problem(ctx, path, line, -EBADMSG, "unterminated quote: line ignored");
		return 0;
	}
	if (count == 0) {
		collect_problem(ctx, path, line, -EBADMSG,
		                "AuthorizedKeysFile without a value: line ignored");
		return 0;
	}
	cfg->set = true;
	cfg->stop = true; /* the first value is the one sshd uses */
	while (next_arg(l, &pos, arg) > 0) {
		if (arg[0] == '\0' || strcasecmp(arg, "none") == 0)
			continue;
		if (!tokens_ok(arg)) {
			collect_problem(
			        ctx, path, line, -EBADMSG,
			        "AuthorizedKeysFile path with an unknown %%-token: ignored");
			continue;
		}
		r = keycfg_add(cfg, arg);
		if (r == -E2BIG) {
			collect_problem(
			        ctx, path, line, -E2BIG,
			        "more than %u AuthorizedKeysFile paths: the rest is ignored",
			        ACCOUNTS_MAX_KEYFILES);
			return 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int keycfg_line(const struct collect_ctx *ctx, struct accounts_keycfg *cfg, const char *path,
                       unsigned line, struct span l, char *arg, unsigned depth)
{
	struct span kw;
	size_t i = 0;
	int r;

	while (i < l.n && is_space(l.p[i]))
		i++;
	if (i == l.n || l.p[i] == '#')
		return 0;
	kw.p = l.p + i;
	while (i < l.n && !is_space(l.p[i]) && l.p[i] != '=')
		i++;
	kw.n = (size_t)(l.p + i - kw.p);
	while (i < l.n && is_blank(l.p[i]))
		i++;
	if (i < l.n && l.p[i] == '=')
		i++;
	if (kw.n == 5 && strncasecmp(kw.p, "match", 5) == 0) {
		cfg->stop = true; /* what follows is not global */
		return 0;
	}
	if (kw.n == 18 && strncasecmp(kw.p, "authorizedkeysfile", 18) == 0)
		return keycfg_keyfiles(ctx, cfg, path, line, l, i, arg);
	if (kw.n != 7 || strncasecmp(kw.p, "include", 7) != 0)
		return 0;
	/* sshd refuses a line it cannot split, before following any of it */
	for (size_t p = i; (r = next_arg(l, &p, arg)) > 0;)
		;
	if (r < 0) {
		collect_problem(ctx, path, line, -EBADMSG, "unterminated quote: line ignored");
		return 0;
	}
	/* a nested file is parsed with its own argument buffer */
	while (!cfg->stop && next_arg(l, &i, arg) > 0) {
		r = keycfg_include(ctx, cfg, path, line, arg, depth);
		if (r < 0)
			return r;
	}
	return 0;
}

static int keycfg_parse(const struct collect_ctx *ctx, const char *path, const char *buf,
                        size_t len, struct accounts_keycfg *cfg, unsigned depth)
{
	_cleanup_free_ char *arg = NULL;
	const char *line;
	size_t pos = 0, n;
	unsigned lineno = 0;
	int r = 0;

	arg = malloc(ACCOUNTS_MAX_LINE + 1);
	if (!arg)
		return -ENOMEM;
	while (r == 0 && !cfg->stop && rootfs_next_line(buf, len, &pos, &line, &n, &lineno)) {
		if (n > ACCOUNTS_MAX_LINE) {
			collect_problem(ctx, path, lineno, -EBADMSG, "line longer than %u bytes",
			                ACCOUNTS_MAX_LINE);
			continue;
		}
		if (memchr(line, '\0', n)) {
			collect_problem(ctx, path, lineno, -EBADMSG, "line contains a NUL byte");
			continue;
		}
		r = keycfg_line(ctx, cfg, path, lineno, (struct span){line, n}, arg, depth);
	}
	return r;
}

int accounts_keycfg_parse(const struct collect_ctx *ctx, const char *path, const char *buf,
                          size_t len, struct accounts_keycfg *cfg)
{
	return keycfg_parse(ctx, path, buf, len, cfg, 0);
}

static int keycfg_file(const struct collect_ctx *ctx, struct accounts_keycfg *cfg, const char *path,
                       unsigned depth)
{
	char *buf = NULL;
	size_t len;
	int r;

	if (cfg->files == ACCOUNTS_MAX_INCLUDES) {
		collect_problem(ctx, path, 0, -E2BIG,
		                "more than %u sshd configuration files: the rest is not read",
		                ACCOUNTS_MAX_INCLUDES);
		cfg->stop = true;
		return 0;
	}
	cfg->files++;
	r = rootfs_read(ctx->rootfd, path, ROOTFS_MAX_FILE, &buf, &len, NULL);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0; /* sshd treats a missing file, like an empty glob, as nothing */
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		accounts_report_read(ctx, path, r, "users' AuthorizedKeysFile may be wrong");
		return 0;
	}
	r = keycfg_parse(ctx, path, buf, len, cfg, depth);
	free(buf);
	return r;
}

int accounts_keycfg_load(const struct collect_ctx *ctx, struct accounts_keycfg *cfg)
{
	int r = keycfg_file(ctx, cfg, "/etc/ssh/sshd_config", 0);

	for (unsigned i = 0; r == 0 && !cfg->set && i < ARRAY_SIZE(default_keyfiles); i++)
		r = keycfg_add(cfg, default_keyfiles[i]);
	return r;
}

/* ---------- authorized_keys ---------- */

struct keytype {
	const char *name;
	unsigned strings;  /* SSH strings in a plain key's blob; 0 = certificate (type checked) */
	const char *curve; /* the blob's second string, for ECDSA */
	unsigned pklen;    /* length of an Ed25519 key (the second string) */
};

static const struct keytype keytypes[] = {
        {"ssh-rsa", 3, NULL, 0},
        {"ssh-dss", 5, NULL, 0},
        {"ssh-ed25519", 2, NULL, 32},
        {"ecdsa-sha2-nistp256", 3, "nistp256", 0},
        {"ecdsa-sha2-nistp384", 3, "nistp384", 0},
        {"ecdsa-sha2-nistp521", 3, "nistp521", 0},
        {"sk-ssh-ed25519@openssh.com", 3, NULL, 32},
        {"sk-ecdsa-sha2-nistp256@openssh.com", 4, "nistp256", 0},
        {"ssh-rsa-cert-v01@openssh.com", 0, NULL, 0},
        {"ssh-dss-cert-v01@openssh.com", 0, NULL, 0},
        {"ssh-ed25519-cert-v01@openssh.com", 0, NULL, 0},
        {"ecdsa-sha2-nistp256-cert-v01@openssh.com", 0, NULL, 0},
        {"ecdsa-sha2-nistp384-cert-v01@openssh.com", 0, NULL, 0},
        {"ecdsa-sha2-nistp521-cert-v01@openssh.com", 0, NULL, 0},
        {"sk-ssh-ed25519-cert-v01@openssh.com", 0, NULL, 0},
        {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", 0, NULL, 0},
};

static const struct keytype *keytype_find(struct span name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keytypes); i++)
		if (span_is(name, keytypes[i].name))
			return &keytypes[i];
	return NULL;
}

/* What is wrong with the decoded key BLOB of type KT, or NULL. */
static const char *blob_check(const struct keytype *kt, const uint8_t *b, size_t n)
{
	struct span s[5];
	size_t pos = 0;
	unsigned count = 0;

	while (pos < n) {
		uint32_t len;

		if (n - pos < 4)
			return "malformed key data";
		len = get_be32(b + pos);
		pos += 4;
		if (len > n - pos)
			return "malformed key data";
		if (count < ARRAY_SIZE(s))
			s[count] = (struct span){(const char *)b + pos, len};
		count++;
		pos += len;
		if (kt->strings == 0)
			break; /* a certificate: only its type is checked */
	}
	if (count == 0)
		return "malformed key data";
	if (!span_is(s[0], kt->name))
		return "the key data is of another type than the line says";
	if (kt->strings == 0)
		return NULL;
	if (count != kt->strings)
		return "malformed key data";
	if (kt->curve && !span_is(s[1], kt->curve))
		return "the key data is for another curve than the line says";
	if (kt->pklen && s[1].n != kt->pklen)
		return "malformed key data";
	return NULL;
}

static struct span next_word(struct span l, size_t *i)
{
	size_t start;

	while (*i < l.n && is_blank(l.p[*i]))
		(*i)++;
	start = *i;
	while (*i < l.n && !is_blank(l.p[*i]))
		(*i)++;
	return (struct span){l.p + start, *i - start};
}

/* The element "SHA256:fp type[ options=...][ comment=...]" for one key line
 * appended to LIST; what is not a key gets a reason in *why. Returns 0,
 * -EBADMSG (*why set), -ENOMEM or -E2BIG. */
static int key_line(struct span l, struct buf *list, const char **why)
{
	_cleanup_free_ uint8_t *blob = NULL;
	uint8_t md[32];
	char fp[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	struct span opts = {NULL, 0}, type, b64, comment;
	const struct keytype *kt;
	const char *end;
	size_t i = 0, bn, need;
	int r;

	type = next_word(l, &i);
	kt = keytype_find(type);
	if (!kt) {
		/* options first: they end at a blank outside double quotes */
		bool q = false;

		for (i = 0; i < l.n && (q || !is_blank(l.p[i])); i++) {
			if (l.p[i] == '\\' && i + 1 < l.n && l.p[i + 1] == '"')
				i++;
			else if (l.p[i] == '"')
				q = !q;
		}
		if (q) {
			*why = "unterminated quote in the options";
			return -EBADMSG;
		}
		opts = (struct span){l.p, i};
		type = next_word(l, &i);
		if (type.n == 0) {
			*why = "no key type";
			return -EBADMSG;
		}
		kt = keytype_find(type);
		if (!kt) {
			*why = "unknown key type";
			return -EBADMSG;
		}
	}
	b64 = next_word(l, &i);
	if (b64.n == 0) {
		*why = "no key data after the key type";
		return -EBADMSG;
	}
	while (i < l.n && is_blank(l.p[i]))
		i++;
	comment = (struct span){l.p + i, l.n - i};
	while (comment.n && is_blank(comment.p[comment.n - 1]))
		comment.n--;

	blob = malloc(b64.n / 4 * 3 + 3);
	if (!blob)
		return -ENOMEM;
	if (sodium_base642bin(blob, b64.n / 4 * 3 + 3, b64.p, b64.n, NULL, &bn, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64.p + b64.n) {
		*why = "the key data is not valid base64";
		return -EBADMSG;
	}
	*why = blob_check(kt, blob, bn);
	if (*why)
		return -EBADMSG;
	r = hash_buffer(HASH_SHA256, blob, bn, md);
	if (r < 0)
		return r == -ENOMEM ? r : -EIO;
	sodium_bin2base64(fp, sizeof(fp), md, sizeof(md),
	                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);

	need = 7 + strlen(fp) + 1 + type.n + (opts.n ? 9 + opts.n : 0) +
	       (comment.n ? 9 + comment.n : 0);
	if (list->n + 1 + need > OBJ_MAX_VALUE)
		return -E2BIG;
	r = list->n ? buf_append(list, "\n", 1) : 0;
	if (r == 0)
		r = buf_append(list, "SHA256:", 7);
	if (r == 0)
		r = buf_append(list, fp, strlen(fp));
	if (r == 0)
		r = buf_append(list, " ", 1);
	if (r == 0)
		r = buf_append(list, type.p, type.n);
	if (r == 0 && opts.n)
		r = buf_append(list, " options=", 9);
	if (r == 0 && opts.n)
		r = buf_append(list, opts.p, opts.n);
	if (r == 0 && comment.n)
		r = buf_append(list, " comment=", 9);
	if (r == 0 && comment.n)
		r = buf_append(list, comment.p, comment.n);
	return r;
}

int accounts_parse_keys(const struct collect_ctx *ctx, const char *path, const char *buf,
                        size_t len, struct buf *list)
{
	const char *line, *why;
	size_t pos = 0, n;
	unsigned lineno = 0, keys = 0;
	int r;

	while (rootfs_next_line(buf, len, &pos, &line, &n, &lineno)) {
		struct span l = {line, n};

		while (l.n && is_blank(l.p[0])) {
			l.p++;
			l.n--;
		}
		if (l.n == 0 || l.p[0] == '#')
			continue;
		if (l.n > ACCOUNTS_MAX_KEY_LINE) {
			collect_problem(ctx, path, lineno, -EBADMSG,
			                "line longer than %u bytes: not read as a key",
			                ACCOUNTS_MAX_KEY_LINE);
			continue;
		}
		if (memchr(l.p, '\0', l.n)) {
			collect_problem(ctx, path, lineno, -EBADMSG, "line contains a NUL byte");
			continue;
		}
		if (keys == ACCOUNTS_MAX_KEYS) {
			collect_problem(ctx, path, lineno, -E2BIG,
			                "more than %u keys: the user's keys are not recorded",
			                ACCOUNTS_MAX_KEYS);
			return -E2BIG;
		}
		r = key_line(l, list, &why);
		if (r == -EBADMSG) {
			collect_problem(ctx, path, lineno, -EBADMSG, "not a key: %s", why);
			continue;
		}
		if (r == -E2BIG)
			collect_problem(ctx, path, lineno, -E2BIG,
			                "the keys take more than %u bytes: the user's keys are not "
			                "recorded",
			                OBJ_MAX_VALUE);
		if (r < 0)
			return r;
		keys++;
	}
	return 0;
}
