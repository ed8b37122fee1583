/* SPDX-License-Identifier: ISC */
/* fim check: verify the baseline, run the check engine into the report (and the alert trail). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fim/cli.h"
#include "fim/cmd_check.h"
#include "fim/core/utf8.h"
#include "fim/engine/check.h"
#include "fim/log.h"
#include "fim/output.h"
#include "fim/progress.h"
#include "fim/trust/trail.h"
#include "fim/trust/trust.h"

/* One fim check: what it opened, in the order it closes them. */
struct check_cmd {
	struct fim_opts *o;
	struct policy *p;
	struct policy *old; /* the baseline's policy, when it differs */
	struct store *s;
	int rootfd;
	enum hash_algo algo;
	struct report rep;  /* what drift is told to: main, or main and the trail */
	struct report main; /* the report on stdout */
	struct report tr;   /* JSON into the alert trail */
	struct trail *trail;
	FILE *trail_out;
	const char *trail_path;
	bool teed; /* rep is the tee of main and tr */
	struct progress progress;
	struct report_info info;
	char created[64], host[256], hash[32];
};

static void say_problem(void *ctx, const char *path, unsigned line, const char *msg)
{
	char q[4200];

	utf8_quote(path, strlen(path), q, sizeof(q));
	if (line)
		log_warn("%s:%u: %s", q, line, msg);
	else
		log_warn("%s: %s", q, msg);
}

const struct objects_say cmd_say_problems = {.problem = say_problem};

/* Copies a meta text value into a NUL-terminated buffer ("" if absent). */
static const char *meta_text(struct store *s, const char *key, char *buf, size_t size)
{
	struct bytes v;
	size_t n;

	buf[0] = '\0';
	if (store_meta(s, key, &v) < 0)
		return buf;
	n = v.n < size - 1 ? v.n : size - 1;
	memcpy(buf, v.p, n);
	buf[n] = '\0';
	return buf;
}

/* With --alerts (or "set alerts.file"), drift also goes, as JSON, into the
 * hash-chained alert trail. Returns 0 or -1 (reported). */
static int open_trail(struct check_cmd *c, const struct fim_opts *o, const struct policy *p)
{
	const char *path = o->alerts ? o->alerts : policy_get(p, "alerts.file");
	const char *keyfile = o->alerts_key ? o->alerts_key : policy_get(p, "alerts.key");
	uint8_t key[TRAIL_KEY_BYTES];
	int r;

	if (!path)
		return 0;
	c->trail_path = path;
	if (keyfile) {
		r = trail_load_key(keyfile, key);
		if (r < 0) {
			log_error("%s: cannot read the alert trail key: %s", keyfile,
			          r == -EINVAL ? "shorter than 32 bytes" : trail_cause(r));
			return -1;
		}
	}
	r = trail_open(path, keyfile ? key : NULL, &c->trail);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		log_error("%s: cannot open the alert trail: %s", path, trail_cause(r));
		return -1;
	}
	c->trail_out = trail_stream(c->trail);
	if (!c->trail_out) {
		log_error("%s: cannot open the alert trail: %s", path, strerror(errno));
		return -1;
	}
	c->tr = (struct report){.ops = &report_json, .out = c->trail_out};
	if (report_tee(&c->rep, &c->main, &c->tr) < 0) {
		log_error("check: out of memory");
		return -1;
	}
	c->teed = true;
	return 0;
}

/* The verified baseline, its own policy and algorithm. Returns 0 or an exit status (reported). */
static int open_baseline(struct check_cmd *c)
{
	struct fim_opts *o = c->o;
	int ret = cli_trust_open(o, c->p, &c->s);

	if (ret == 0)
		ret = cli_trust_verify(o, c->p, c->s);
	if (ret)
		return ret;
	if (check_old_policy(c->s, c->p, &c->old) < 0) {
		log_error("%s: the baseline's policy is missing or corrupt; run 'fim baseline'",
		          o->db);
		return FIM_EXIT_BASELINE;
	}
	c->algo = check_baseline_algo(c->s, c->hash, sizeof(c->hash));
	if (c->algo == HASH_NONE) {
		log_error("%s: the baseline names an unknown hash algorithm '%s'", o->db, c->hash);
		return FIM_EXIT_BASELINE;
	}
	c->info = (struct report_info){.command = "check", .policy_changed = c->old != NULL};
	if (c->old)
		log_warn("%s: the policy in force is not the one the baseline was built with; "
		         "objects it newly selects or drops are not reported as drift",
		         o->policy);
	c->info.created = meta_text(c->s, META_CREATED, c->created, sizeof(c->created));
	c->info.host = meta_text(c->s, META_HOST, c->host, sizeof(c->host));
	c->info.hash = c->hash;
	return 0;
}

static void progress_file(void *ctx, uint64_t bytes)
{
	progress_add(ctx, bytes);
}

static void progress_done(void *ctx)
{
	progress_end(ctx);
}

void cmd_check_progress(struct check_args *a, struct progress *pg, struct store *s,
                        const struct fim_opts *o)
{
	uint64_t files = 0, bytes = 0;
	struct bytes v;

	if (store_meta(s, META_STATS, &v) == 0)
		progress_parse_stats(v.p, v.n, &files, &bytes);
	progress_init(pg, "check", o->verbose > 0 && isatty(STDERR_FILENO), files, bytes);
	a->file_done = progress_file;
	a->tree_done = progress_done;
	a->progress_ctx = pg;
}

/* The exit status of an engine run that returned R with SUM. */
static int run_status(struct check_cmd *c, int r, const struct report_summary *sum,
                      const struct fim_err *err)
{
	if (err->msg[0])
		log_error("%s", err->msg);
	if (r == -EBADMSG) {
		/* never a failed write: a stdout that failed first must not hide it */
		log_error("%s: the baseline is corrupt: %s", c->o->db, strerror(-r));
		/* a signed baseline that verified and still reads as damaged */
		return cli_trust_verify_key_path(c->o, c->p) ? FIM_EXIT_INTEGRITY
		                                             : FIM_EXIT_BASELINE;
	}
	if (r < 0 && !output_error()) {
		log_error("check: %s", strerror(-r));
		return FIM_EXIT_IO;
	}
	/* r < 0 here: the report was lost; output_report says where and why */
	if (output_report("check") || r < 0)
		return FIM_EXIT_IO;
	return (sum->added ? FIM_EXIT_ADDED : 0) | (sum->removed ? FIM_EXIT_REMOVED : 0) |
	       (sum->changed ? FIM_EXIT_CHANGED : 0) | (sum->errors ? FIM_EXIT_UNREADABLE : 0);
}

/* A trail that failed did not stop the report; it fails the run. */
static int close_trail(struct check_cmd *c, int ret)
{
	int ea = 0, eb = 0;

	if (!c->trail_out)
		return ret;
	if (c->teed)
		report_tee_errors(&c->rep, &ea, &eb);
	if (fclose(c->trail_out) != 0 && !eb)
		eb = -errno;
	if (eb) {
		log_error("%s: cannot append to the alert trail: %s", c->trail_path,
		          trail_cause(eb));
		if (ret < FIM_EXIT_USAGE)
			ret = FIM_EXIT_IO;
	}
	return ret;
}

/* The report on stdout, teed into the alert trail when there is one.
 * Returns 0 or an exit status (reported). */
static int open_reports(struct check_cmd *c)
{
	struct fim_opts *o = c->o;

	c->rootfd = cli_open_root(o);
	if (c->rootfd < 0)
		return FIM_EXIT_IO;
	c->main = (struct report){.ops = cli_report_ops(o),
	                          .out = stdout,
	                          .color = o->color,
	                          .verbose = o->verbose,
	                          .max_line = o->max_line,
	                          .level_prefix = output_is_journal(STDOUT_FILENO)};
	c->rep = c->main;
	return open_trail(c, o, c->p) < 0 ? FIM_EXIT_IO : 0;
}

int cmd_check(struct fim_opts *o, int argc, char **argv)
{
	struct check_cmd c = {.o = o, .rootfd = -1};
	struct report_summary sum = {0};
	struct fim_err err = {0};
	double t0 = cli_now();
	int ret;

	if (argc > 1) {
		log_error("check: unexpected argument '%s'", argv[1]);
		return FIM_EXIT_USAGE;
	}
	ret = cli_load_policy(o, &c.p);
	if (ret == 0)
		ret = open_baseline(&c);
	if (ret == 0)
		ret = open_reports(&c);
	if (ret == 0) {
		struct check_args a = {.p = c.p,
		                       .old = c.old,
		                       .s = c.s,
		                       .rootfd = c.rootfd,
		                       .algo = c.algo,
		                       .quick = o->quick,
		                       .jobs = o->jobs,
		                       .keep_cache = o->keep_cache,
		                       .say = &cmd_say_problems,
		                       .t0 = t0};
		cmd_check_progress(&a, &c.progress, c.s, o);
		ret = run_status(&c, check_run(&a, &c.rep, &c.info, &sum, &err), &sum, &err);
	}
	ret = close_trail(&c, ret);
	if (c.rep.ops)
		c.rep.ops->free(&c.rep);
	trail_close(c.trail);
	if (c.rootfd >= 0)
		close(c.rootfd);
	store_close(c.s);
	policy_free(c.old);
	policy_free(c.p);
	return ret;
}
