/* SPDX-License-Identifier: ISC */
/* Trust for the commands: passphrases, keys named by options, verified opens, causes said once. */
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "fim/cli.h"
#include "fim/log.h"

/* The longest passphrase file read (its first line is the passphrase). */
#define PASS_FILE_MAX 4096u

/* Passphrase P[0..n) into BUF as a string. */
static int take(const char *p, size_t n, char *buf, size_t size, size_t *ret_len)
{
	if (n == 0 || memchr(p, '\0', n))
		return -EINVAL;
	if (n >= size)
		return -EMSGSIZE;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*ret_len = n;
	return 0;
}

/* The first line of FILE (a pipe such as <(pass show fim) works too). */
static int pass_file(const char *file, char *buf, size_t size, size_t *ret_len)
{
	struct stat st;
	size_t n = 0;
	char *data, *nl;
	int fd, r = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)PASS_FILE_MAX) {
		r = -EFBIG;
		goto out_close;
	}
	data = sodium_malloc(PASS_FILE_MAX + 1);
	if (!data) {
		r = -ENOMEM;
		goto out_close;
	}
	while (n <= PASS_FILE_MAX) {
		ssize_t k = read(fd, data + n, PASS_FILE_MAX + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			break;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (r == 0 && n > PASS_FILE_MAX)
		r = -EFBIG;
	if (r == 0) {
		nl = memchr(data, '\n', n);
		if (nl)
			n = (size_t)(nl - data);
		if (n > 0 && data[n - 1] == '\r')
			n--;
		r = take(data, n, buf, size, ret_len);
	}
	sodium_free(data); /* wipes it */
out_close:
	close(fd);
	return r;
}

static volatile sig_atomic_t tty_signo;

static void tty_catch(int sig)
{
	tty_signo = sig;
}

/* Signals that would leave the terminal without echo if they ended or stopped
 * fim in the middle of a prompt: caught, then re-raised once it is restored. */
static const int tty_signals[] = {SIGALRM, SIGHUP,  SIGINT,  SIGPIPE, SIGQUIT,
                                  SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU};

static int tty_set(int fd, const struct termios *t)
{
	while (tcsetattr(fd, TCSAFLUSH, t) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void tty_write(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* One line from terminal FD with echo off, after PROMPT. */
static int tty_ask(int fd, const char *prompt, char *buf, size_t size, size_t *ret_len)
{
	struct sigaction sa = {.sa_handler = tty_catch}, saved[ARRAY_SIZE(tty_signals)];
	struct termios old, quiet;
	size_t n;
	bool over;
	char c = 0;
	int r, sig;

restart:
	n = 0;
	over = false;
	if (tcgetattr(fd, &old) < 0)
		return -ENOTTY;
	tty_signo = 0;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(tty_signals); i++)
		sigaction(tty_signals[i], &sa, &saved[i]);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	r = tty_set(fd, &quiet);
	if (r == 0) {
		tty_write(fd, prompt);
		for (;;) {
			ssize_t k;

			if (tty_signo) {
				r = -EINTR;
				break;
			}
			k = read(fd, &c, 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				r = -errno;
				break;
			}
			if (k == 0 || c == '\n' || c == '\r')
				break;
			if (n + 1 < size)
				buf[n++] = c;
			else
				over = true;
		}
		sodium_memzero(&c, sizeof(c));
		tty_write(fd, "\n");
		tty_set(fd, &old);
	}
	for (size_t i = 0; i < ARRAY_SIZE(tty_signals); i++)
		sigaction(tty_signals[i], &saved[i], NULL);
	sig = tty_signo;
	if (sig) {
		sodium_memzero(buf, size);
		raise(sig);
		/* Still here: stopped and continued (ask again), or the signal is ignored. */
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			goto restart;
		return -EINTR;
	}
	if (r == 0 && over)
		r = -EMSGSIZE;
	if (r < 0) {
		sodium_memzero(buf, size);
		return r;
	}
	buf[n] = '\0';
	*ret_len = n;
	return 0;
}

static int pass_tty(bool confirm, char *buf, size_t size, size_t *ret_len)
{
	size_t n = 0, m = 0;
	char *again;
	int fd, r;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOTTY;
	r = tty_ask(fd, "fim: passphrase: ", buf, size, &n);
	if (r == 0 && n == 0)
		r = -EINVAL;
	if (r == 0 && confirm) {
		again = sodium_malloc(size);
		if (!again)
			r = -ENOMEM;
		else
			r = tty_ask(fd, "fim: passphrase again: ", again, size, &m);
		if (r == 0 && (m != n || sodium_memcmp(again, buf, n) != 0))
			r = -EINVAL;
		sodium_free(again);
	}
	close(fd);
	if (r < 0) {
		sodium_memzero(buf, size);
		return r;
	}
	*ret_len = n;
	return 0;
}

int cli_passphrase(const char *file, bool confirm, char *buf, size_t size, size_t *ret_len)
{
	const char *env = getenv("FIM_PASSPHRASE");

	if (size < 2)
		return -EINVAL;
	if (env)
		return take(env, strlen(env), buf, size, ret_len);
	if (file)
		return pass_file(file, buf, size, ret_len);
	return pass_tty(confirm, buf, size, ret_len);
}

int cli_trust_load_signer(const struct fim_opts *o, struct sign_key *ret)
{
	char *pass;
	size_t plen = 0;
	int r;

	*ret = (struct sign_key){0};
	if (!o->sign_key)
		return 0;
	if (sodium_init() < 0) {
		log_error("cannot initialise libsodium");
		return FIM_EXIT_IO;
	}
	pass = sodium_malloc(SIGN_MAX_PASSPHRASE + 1);
	if (!pass) {
		log_error("out of memory");
		return FIM_EXIT_IO;
	}
	r = cli_passphrase(o->passphrase_file, false, pass, SIGN_MAX_PASSPHRASE + 1, &plen);
	if (r < 0) {
		sodium_free(pass);
		if (r == -ENOTTY)
			log_error(
			        "%s: no passphrase: set FIM_PASSPHRASE, use --passphrase-file, or "
			        "run on a terminal",
			        o->sign_key);
		else
			log_error("%s: cannot read the passphrase: %s",
			          o->passphrase_file ? o->passphrase_file : o->sign_key,
			          r == -EINVAL ? "empty or not confirmed" : strerror(-r));
		return FIM_EXIT_USAGE;
	}
	r = sign_load_secret(o->sign_key, pass, plen, ret);
	sodium_free(pass);
	if (r == -EKEYREJECTED) {
		log_error("%s: wrong passphrase, or the key file was altered", o->sign_key);
		return FIM_EXIT_INTEGRITY;
	}
	if (r < 0) {
		log_error("%s: cannot load the signing key: %s", o->sign_key,
		          r == -EBADMSG ? "not a fim secret key" : strerror(-r));
		return r == -EBADMSG ? FIM_EXIT_INTEGRITY : FIM_EXIT_IO;
	}
	return 0;
}

const char *cli_trust_verify_key_path(const struct fim_opts *o, const struct policy *p)
{
	if (o->verify_key)
		return o->verify_key;
	return p ? policy_get(p, "verify_key") : NULL;
}

/* The cause of the last failed check on this thread, for *why: the
 * callers print it before they check again. */
static _Thread_local char last_why[sizeof(((struct fim_err *)0)->msg)];

static int said(const struct fim_err *e, const char **why)
{
	snprintf(last_why, sizeof(last_why), "%s", fim_err_text(e));
	*why = last_why;
	return FIM_EXIT_INTEGRITY;
}

int cli_trust_check_key(const struct sign_key *k, const struct policy *p, struct store *s,
                        const char **why, char *signer, size_t size)
{
	struct fim_err e = {0};

	return trust_check_sig(k, p, s, signer, size, &e) < 0 ? said(&e, why) : 0;
}

int cli_trust_check(const char *key_path, const struct policy *p, struct store *s, const char **why,
                    char *signer, size_t size)
{
	struct fim_err e = {0};
	struct sign_key k;

	if (signer && size)
		signer[0] = '\0';
	if (trust_key_load(key_path, &k, &e) < 0)
		return said(&e, why);
	return cli_trust_check_key(&k, p, s, why, signer, size);
}

/* Says why the baseline of O is not trusted with the verify key PATH. */
static int integrity_failure(const struct fim_opts *o, const char *path, const char *why)
{
	log_error("%s: baseline integrity failure: %s (verify key %s)", o->db, why, path);
	return FIM_EXIT_INTEGRITY;
}

int cli_trust_verify(const struct fim_opts *o, const struct policy *p, struct store *s)
{
	const char *path = cli_trust_verify_key_path(o, p), *why = NULL;

	if (!path)
		return 0;
	return cli_trust_check(path, p, s, &why, NULL, 0) ? integrity_failure(o, path, why) : 0;
}

/* The check of cli_trust_verify_store with the policy P already read (or
 * NULL): its verify key, the policy in force not compared. */
static int cli_trust_verify_store_with(const struct fim_opts *o, const struct policy *p,
                                       struct store *s)
{
	const char *path = cli_trust_verify_key_path(o, p), *why = NULL;

	if (path && cli_trust_check(path, NULL, s, &why, NULL, 0))
		return integrity_failure(o, path, why);
	return 0;
}

/* The policy file when it may name the verify key (no --verify-key):
 * NULL when there is none. Returns 0 or FIM_EXIT_POLICY (reported). */
static int key_policy(const struct fim_opts *o, struct policy **ret)
{
	struct policy_error err = {0};
	int r;

	*ret = NULL;
	if (o->verify_key)
		return 0;
	/* a policy that cannot be read might be the one that requires a key */
	r = policy_load(o->policy, ret, &err);
	if (r == -ENOENT && access(o->policy, F_OK) < 0 && errno == ENOENT) {
		*ret = NULL; /* no policy file at all */
		return 0;
	}
	if (r < 0)
		return cli_load_policy(o, ret); /* reports it the usual way */
	return 0;
}

int cli_trust_verify_store(const struct fim_opts *o, struct store *s)
{
	struct policy *p = NULL;
	int r = key_policy(o, &p);

	if (r)
		return r;
	r = cli_trust_verify_store_with(o, p, s);
	policy_free(p);
	return r;
}

/* Where the baseline lies: refused when unsigned, a loud warning when a
 * signature is checked anyway. Returns 0 or FIM_EXIT_BASELINE (reported). */
static int cli_trust_where(const struct fim_opts *o, bool signed_)
{
	char why[PATH_MAX + 128];
	int r = store_check_trust(o->db, why, sizeof(why));

	if (r == 0)
		return 0;
	/* it was opened, so this is rare: a path that changed meanwhile */
	if (r != -EPERM)
		snprintf(why, sizeof(why), "%s: cannot tell who could write it: %s", o->db,
		         strerror(-r));
	if (signed_) {
		log_warn("%s: another user could replace or change this baseline; it is used only "
		         "because its signature is checked",
		         why);
		return 0;
	}
	log_error("%s: refusing an unsigned baseline that another user could replace or change "
	          "(fix its owner or mode, or sign it)",
	          why);
	return FIM_EXIT_BASELINE;
}

/* cli_trust_open_key without the check of where the baseline lies. */
static int open_key(const struct fim_opts *o, const char *key_path, struct store **ret)
{
	struct fim_err e = {0};
	struct sign_key k;
	int r;

	if (!key_path)
		return cli_open_store(o, ret);
	if (trust_key_load(key_path, &k, &e) < 0)
		return integrity_failure(o, key_path, fim_err_text(&e));
	r = trust_store_open(o->db, &k, ret, &e);
	if (r == 0)
		return 0;
	if (e.msg[0])
		return integrity_failure(o, key_path, e.msg);
	if (r != -ENOENT && r != -EPROTONOSUPPORT) {
		log_error("%s: cannot open baseline: %s", o->db, strerror(-r));
		return FIM_EXIT_BASELINE;
	}
	/* for its usual message only: what it might open was not checked */
	r = cli_open_store(o, ret);
	if (r == 0) {
		store_close(*ret);
		*ret = NULL;
		r = integrity_failure(o, key_path, "the baseline was replaced while it was opened");
	}
	return r;
}

/* Where it lies is checked once it could be opened: a baseline that is
 * missing or unreadable is reported as such, and the unsigned one that is
 * refused was only read (under the store's guard), never used. */
int cli_trust_open_key(const struct fim_opts *o, const char *key_path, struct store **ret)
{
	int r = open_key(o, key_path, ret);

	if (r)
		return r;
	r = cli_trust_where(o, key_path != NULL);
	if (r) {
		store_close(*ret);
		*ret = NULL;
	}
	return r;
}

int cli_trust_open(const struct fim_opts *o, const struct policy *p, struct store **ret)
{
	return cli_trust_open_key(o, cli_trust_verify_key_path(o, p), ret);
}

int cli_trust_open_store(const struct fim_opts *o, struct store **ret)
{
	struct policy *p = NULL;
	int r = key_policy(o, &p);

	if (r)
		return r;
	r = cli_trust_open(o, p, ret);
	if (r == 0)
		r = cli_trust_verify_store_with(o, p, *ret);
	policy_free(p);
	if (r) {
		store_close(*ret);
		*ret = NULL;
	}
	return r;
}
