/* SPDX-License-Identifier: ISC */
/* Unit tests for baseline/services.c: units in fake roots, each drift, bad input, the parser. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "baseline/collect.h"
#include "baseline/rootfs.h"
#include "baseline/services.h"
#include "fim/core/hash.h"
#include "tests/unit/fixture.h"

struct fixture {
	char root[256];
	int rootfd;
	struct fx_problems ps;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!fx_tmpdir(f->root, sizeof(f->root), "services"))
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
	free(f);
	return 0;
}

/* ---- building fake roots ---- */

static void full(struct fixture *f, const char *rel, char *out, size_t size)
{
	assert_true((size_t)snprintf(out, size, "%s%s", f->root, rel) < size);
}

static void mkparents(struct fixture *f, const char *rel)
{
	assert_true(fx_parents(f->root, rel));
}

static void put_n(struct fixture *f, const char *rel, const char *content, size_t n)
{
	assert_true(fx_put_bytes(f->root, rel, content, n, 0644));
}

static void put(struct fixture *f, const char *rel, const char *content)
{
	put_n(f, rel, content, strlen(content));
}

static void ln(struct fixture *f, const char *rel, const char *target)
{
	fx_del(f->root, rel);
	assert_true(fx_link(f->root, rel, target));
}

static void rm(struct fixture *f, const char *rel)
{
	assert_true(fx_del(f->root, rel));
}

/* ---- collecting and looking at records ---- */

static void on_problem(void *userdata, const char *path, unsigned line, int err, const char *msg)
{
	struct fixture *f = userdata;

	assert_non_null(msg);
	assert_true(msg[0] != '\0');
	assert_true(f->ps.n < FX_MAX_PROBLEMS);
	fx_on_problem(&f->ps, path, line, err, msg);
}

static struct obj_set *collect_live(struct fixture *f, bool live)
{
	struct collect_ctx ctx = {
	        .rootfd = f->rootfd, .live = live, .problem = on_problem, .userdata = f};
	struct obj_set *set;

	f->ps.n = 0;
	assert_int_equal(obj_set_new(KIND_SERVICE, &set), 0);
	assert_int_equal(collect_services(&ctx, set), 0);
	return set;
}

static struct obj_set *collect(struct fixture *f)
{
	return collect_live(f, false);
}

static const struct obj_rec *get(const struct obj_set *s, const char *id)
{
	const struct obj_rec *r = obj_set_find(s, id, strlen(id));

	if (!r)
		fail_msg("no record %s", id);
	return r;
}

/* Asserts attribute A of ID is EXPECTED (NULL: absent; list elements joined by '\n'). */
static void check(const struct obj_set *s, const char *id, unsigned a, const char *expected)
{
	const struct obj_rec *r = get(s, id);
	char *v;

	if (!expected) {
		if (r->attrs & ATTR_BIT(a))
			fail_msg("%s %s: expected absent, got '%.*s'", id,
			         attr_name(KIND_SERVICE, a), (int)r->val[a].n, r->val[a].p);
		return;
	}
	if (!(r->attrs & ATTR_BIT(a)))
		fail_msg("%s %s: absent, expected '%s'", id, attr_name(KIND_SERVICE, a), expected);
	v = strndup((const char *)r->val[a].p, r->val[a].n);
	assert_non_null(v);
	if (strcmp(v, expected) != 0)
		fail_msg("%s %s: got '%s', expected '%s'", id, attr_name(KIND_SERVICE, a), v,
		         expected);
	free(v);
}

static attrset_t diff(const struct obj_set *a, const struct obj_set *b, const char *id)
{
	return obj_diff(get(a, id), get(b, id), attr_all(KIND_SERVICE));
}

static const char *sha(const char *content)
{
	static char out[8][80];
	static unsigned k;
	uint8_t md[32];
	char *o = out[k++ % 8];

	assert_int_equal(hash_buffer(HASH_SHA256, content, strlen(content), md), 0);
	strcpy(o, "sha256:");
	for (size_t i = 0; i < sizeof(md); i++)
		sprintf(o + 7 + 2 * i, "%02x", md[i]);
	return o;
}

static bool has_problem(struct fixture *f, const char *path, unsigned line, int err)
{
	for (size_t i = 0; i < f->ps.n; i++)
		if (strcmp(f->ps.p[i].path, path) == 0 && f->ps.p[i].line == line &&
		    f->ps.p[i].err == err)
			return true;
	return false;
}

static void no_problems(struct fixture *f)
{
	for (size_t i = 0; i < f->ps.n; i++)
		fail_msg("unexpected problem %s:%u (%d)", f->ps.p[i].path, f->ps.p[i].line,
		         f->ps.p[i].err);
}

#define LIB "/lib/systemd/system/"
#define ETC "/etc/systemd/system/"
#define RUN "/run/systemd/system/"

static const char foo_unit[] = "[Unit]\nDescription=Foo\n\n[Service]\nExecStart=/usr/bin/foo -d\n"
                               "\n[Install]\nWantedBy=multi-user.target\n";

/* ---- drifts ---- */

static void test_override(void **state)
{
	struct fixture *f = *state;
	static const char evil[] =
	        "[Service]\nExecStart=/tmp/x\n[Install]\nWantedBy=multi-user.target\n";
	struct obj_set *a, *b;

	put(f, LIB "foo.service", foo_unit);
	a = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(a), 1);
	check(a, "foo.service", SA_UNIT_FILE, LIB "foo.service");
	check(a, "foo.service", SA_HASH, sha(foo_unit));
	check(a, "foo.service", SA_ENABLED, "disabled");
	check(a, "foo.service", SA_DROPINS, "");
	check(a, "foo.service", SA_EXEC_START, "/usr/bin/foo -d");
	check(a, "foo.service", SA_SCHEDULE, NULL);
	check(a, "foo.service", SA_ALIASES, "");
	check(a, "foo.service", SA_WANTED_BY, "");
	check(a, "foo.service", SA_ACTIVE, NULL);

	/* a copy in /etc wins over the vendor file; its ExecStart points to /tmp */
	put(f, ETC "foo.service", evil);
	b = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(b), 1);
	check(b, "foo.service", SA_UNIT_FILE, ETC "foo.service");
	check(b, "foo.service", SA_HASH, sha(evil));
	check(b, "foo.service", SA_EXEC_START, "/tmp/x");
	assert_int_equal(diff(a, b, "foo.service"),
	                 ATTR_BIT(SA_UNIT_FILE) | ATTR_BIT(SA_HASH) | ATTR_BIT(SA_EXEC_START));
	obj_set_free(a);
	obj_set_free(b);
}

static void test_enable(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b, *c, *d;

	put(f, LIB "foo.service", foo_unit);
	put(f, LIB "multi-user.target", "[Unit]\nDescription=Multi\n");
	/* a vendor link makes a dependency, not an enablement (systemctl: disabled) */
	ln(f, LIB "multi-user.target.wants/foo.service", "../foo.service");
	a = collect(f);
	no_problems(f);
	check(a, "foo.service", SA_ENABLED, "disabled");
	check(a, "foo.service", SA_WANTED_BY, "multi-user.target.wants");
	check(a, "multi-user.target", SA_ENABLED, "static");
	check(a, "multi-user.target", SA_WANTED_BY, "");

	ln(f, ETC "multi-user.target.wants/foo.service", LIB "foo.service");
	b = collect(f);
	no_problems(f);
	check(b, "foo.service", SA_ENABLED, "enabled");
	/* the same directory name in /etc: no new dependency */
	check(b, "foo.service", SA_WANTED_BY, "multi-user.target.wants");
	assert_int_equal(obj_set_count(b), 2);
	assert_int_equal(diff(a, b, "foo.service"), ATTR_BIT(SA_ENABLED));
	assert_int_equal(diff(a, b, "multi-user.target"), 0);

	/* enabled only until the next boot */
	rm(f, ETC "multi-user.target.wants/foo.service");
	ln(f, RUN "multi-user.target.wants/foo.service", LIB "foo.service");
	c = collect(f);
	check(c, "foo.service", SA_ENABLED, "enabled-runtime");

	/* .requires and .upholds count as well; /etc ranks above /run */
	ln(f, ETC "basic.target.requires/foo.service", LIB "foo.service");
	d = collect(f);
	check(d, "foo.service", SA_ENABLED, "enabled");
	check(d, "foo.service", SA_WANTED_BY, "basic.target.requires\nmulti-user.target.wants");
	rm(f, ETC "basic.target.requires/foo.service");
	rm(f, RUN "multi-user.target.wants/foo.service");
	obj_set_free(d);
	ln(f, ETC "x.target.upholds/foo.service", LIB "foo.service");
	d = collect(f);
	check(d, "foo.service", SA_ENABLED, "enabled");
	check(d, "foo.service", SA_WANTED_BY, "multi-user.target.wants\nx.target.upholds");
	obj_set_free(c);

	/* "systemctl link": a link of the unit's own name; enabling still wins */
	put(f, "/opt/bar.service", "[Service]\nExecStart=/opt/bar\n[Install]\nWantedBy=x.target\n");
	ln(f, ETC "bar.service", "/opt/bar.service");
	ln(f, RUN "baz.service", LIB "foo.service");
	put(f, "/opt/baz.service", "[Service]\nExecStart=/opt/baz\n");
	c = collect(f);
	no_problems(f);
	check(c, "bar.service", SA_ENABLED, "linked");
	check(c, "bar.service", SA_UNIT_FILE, "/opt/bar.service");
	check(c, "baz.service", SA_ENABLED, "alias");
	obj_set_free(c);
	rm(f, RUN "baz.service");
	ln(f, RUN "baz.service", "/opt/baz.service");
	ln(f, ETC "x.target.wants/bar.service", "/opt/bar.service");
	c = collect(f);
	no_problems(f);
	check(c, "bar.service", SA_ENABLED, "enabled");
	check(c, "baz.service", SA_ENABLED, "linked-runtime");
	obj_set_free(a);
	obj_set_free(b);
	obj_set_free(c);
	obj_set_free(d);
}

static void test_mask(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b, *c, *d;

	put(f, LIB "foo.service", foo_unit);
	put(f, LIB "foo.service.d/x.conf", "[Service]\nExecStart=\n");
	ln(f, ETC "multi-user.target.wants/foo.service", LIB "foo.service");
	a = collect(f);
	check(a, "foo.service", SA_ENABLED, "enabled");
	check(a, "foo.service", SA_WANTED_BY, "multi-user.target.wants");

	ln(f, ETC "foo.service", "/dev/null");
	b = collect(f);
	no_problems(f);
	check(b, "foo.service", SA_UNIT_FILE, "/dev/null");
	check(b, "foo.service", SA_ENABLED, "masked");
	check(b, "foo.service", SA_HASH, NULL);
	check(b, "foo.service", SA_DROPINS, NULL);
	check(b, "foo.service", SA_EXEC_START, NULL);
	check(b, "foo.service", SA_ALIASES, "");
	check(b, "foo.service", SA_WANTED_BY, NULL);
	assert_int_equal(diff(a, b, "foo.service"), ATTR_BIT(SA_UNIT_FILE) | ATTR_BIT(SA_ENABLED));

	/* a relative link that resolves to /dev/null, and a runtime mask */
	rm(f, ETC "foo.service");
	ln(f, RUN "foo.service", "../../../dev/null");
	c = collect(f);
	no_problems(f);
	check(c, "foo.service", SA_UNIT_FILE, "/dev/null");
	check(c, "foo.service", SA_ENABLED, "masked-runtime");

	/* systemd takes an empty unit file as a mask too */
	rm(f, RUN "foo.service");
	put(f, ETC "foo.service", "");
	d = collect(f);
	no_problems(f);
	check(d, "foo.service", SA_UNIT_FILE, ETC "foo.service");
	check(d, "foo.service", SA_ENABLED, "masked");
	check(d, "foo.service", SA_HASH, NULL);
	obj_set_free(a);
	obj_set_free(b);
	obj_set_free(c);
	obj_set_free(d);
}

static void test_alias(void **state)
{
	struct fixture *f = *state;
	static const char ssh[] = "[Service]\nExecStart=/usr/sbin/sshd -D\n"
	                          "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n";
	struct obj_set *a, *b, *c;
	char rel[64], target[64], exp[512];

	put(f, LIB "ssh.service", ssh);
	put(f, LIB "ssh.service.d/a.conf",
	    "[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -4\n");
	a = collect(f);
	check(a, "ssh.service", SA_ALIASES, "");
	check(a, "ssh.service", SA_ENABLED, "disabled");

	ln(f, ETC "sshd.service", LIB "ssh.service");
	ln(f, ETC "multi-user.target.wants/ssh.service", LIB "ssh.service");
	/* a link in a .wants dir is no alias */
	ln(f, ETC "multi-user.target.wants/other.service", LIB "ssh.service");
	/* an alias's drop-ins belong to the unit too */
	put(f, ETC "sshd.service.d/b.conf", "[Service]\nExecStart=/bin/true\n");
	b = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(b), 2);
	check(b, "sshd.service", SA_UNIT_FILE, LIB "ssh.service");
	check(b, "sshd.service", SA_HASH, sha(ssh));
	check(b, "sshd.service", SA_ENABLED, "alias");
	check(b, "sshd.service", SA_ALIASES, "");
	check(b, "ssh.service", SA_ALIASES, "sshd.service");
	check(b, "ssh.service", SA_ENABLED, "enabled");
	check(b, "ssh.service", SA_EXEC_START, "/usr/sbin/sshd -D -4\n/bin/true");
	check(b, "sshd.service", SA_EXEC_START, "/usr/sbin/sshd -D -4\n/bin/true");
	snprintf(exp, sizeof(exp), ETC "sshd.service.d/b.conf %s\n" LIB "ssh.service.d/a.conf %s",
	         sha("[Service]\nExecStart=/bin/true\n"),
	         sha("[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -4\n"));
	check(b, "ssh.service", SA_DROPINS, exp);
	check(b, "sshd.service", SA_DROPINS, exp);
	obj_set_free(a);
	obj_set_free(b);

	/* alias -> alias -> ... : 8 links are followed, a 9th is refused */
	put(f, LIB "end.service", "[Service]\nExecStart=/bin/end\n");
	strcpy(target, LIB "end.service");
	for (int i = 1; i <= 9; i++) {
		snprintf(rel, sizeof(rel), ETC "chain%d.service", i);
		ln(f, rel, target);
		strcpy(target, rel);
	}
	c = collect(f);
	check(c, "chain8.service", SA_UNIT_FILE, LIB "end.service");
	check(c, "chain8.service", SA_ENABLED, "alias");
	check(c, "chain9.service", SA_ENABLED, "bad");
	check(c, "chain9.service", SA_HASH, NULL);
	check(c, "chain9.service", SA_EXEC_START, NULL);
	assert_true(has_problem(f, ETC "chain9.service", 0, -ELOOP));
	assert_int_equal(f->ps.n, 1);
	check(c, "end.service", SA_ALIASES,
	      "chain1.service\nchain2.service\nchain3.service\nchain4.service\nchain5.service\n"
	      "chain6.service\nchain7.service\nchain8.service");
	obj_set_free(c);
}

static void test_static_indirect(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a, *b;

	put(f, LIB "static.service", "[Service]\nExecStart=/bin/s\n");
	put(f, LIB "emptyinstall.service", "[Service]\nExecStart=/bin/s\n[Install]\nWantedBy=\n");
	put(f, LIB "also.service", "[Service]\nExecStart=/bin/a\n[Install]\nAlso=static.service\n");
	put(f, LIB "tpl@.service",
	    "[Service]\nExecStart=/bin/t %i\n[Install]\nWantedBy=x.target\n");
	put(f, LIB "dflt@.service",
	    "[Service]\nExecStart=/bin/d %i\n[Install]\nWantedBy=x.target\nDefaultInstance=one\n");
	put(f, LIB "x.target", "[Unit]\nDescription=X\n");
	a = collect(f);
	no_problems(f);
	check(a, "static.service", SA_ENABLED, "static");
	check(a, "emptyinstall.service", SA_ENABLED, "static");
	check(a, "also.service", SA_ENABLED, "indirect");
	check(a, "tpl@.service", SA_ENABLED, "disabled");
	check(a, "dflt@.service", SA_ENABLED, "disabled");
	check(a, "x.target", SA_ENABLED, "static");
	check(a, "x.target", SA_EXEC_START, NULL);
	assert_int_equal(obj_set_count(a), 6);

	/* an instance other than the default one enabled: the template is indirect */
	ln(f, ETC "x.target.wants/tpl@a.service", LIB "tpl@.service");
	ln(f, ETC "x.target.wants/dflt@two.service", LIB "dflt@.service");
	b = collect(f);
	no_problems(f);
	check(b, "tpl@.service", SA_ENABLED, "indirect");
	check(b, "dflt@.service", SA_ENABLED, "indirect");
	check(b, "tpl@a.service", SA_ENABLED, "enabled");
	check(b, "dflt@two.service", SA_ENABLED, "enabled");
	obj_set_free(b);

	/* the default instance enabled: the template is enabled */
	ln(f, ETC "x.target.wants/dflt@one.service", LIB "dflt@.service");
	b = collect(f);
	check(b, "dflt@.service", SA_ENABLED, "enabled");
	assert_int_equal(obj_set_count(b), 9);
	obj_set_free(b);

	/* symlinks of other names: one its Alias= declares enables the unit, another
	 * in /etc or /run makes it indirect, one among vendor files changes nothing */
	put(f, LIB "decl.service", "[Service]\nExecStart=/x\n[Install]\nAlias=decl2.service\n");
	ln(f, ETC "decl2.service", LIB "decl.service");
	put(f, LIB "rdecl.service", "[Service]\nExecStart=/x\n[Install]\nAlias=rdecl2.service\n");
	ln(f, RUN "rdecl2.service", LIB "rdecl.service");
	ln(f, RUN "undecl.service", LIB "static.service");
	put(f, LIB "vendor.service", "[Service]\nExecStart=/x\n[Install]\nWantedBy=x.target\n");
	ln(f, LIB "vendor2.service", "vendor.service");
	b = collect(f);
	no_problems(f);
	check(b, "decl.service", SA_ENABLED, "enabled");
	check(b, "decl2.service", SA_ENABLED, "alias");
	check(b, "rdecl.service", SA_ENABLED, "enabled-runtime");
	check(b, "static.service", SA_ENABLED, "indirect");
	check(b, "static.service", SA_ALIASES, "undecl.service");
	check(b, "vendor.service", SA_ENABLED, "disabled");
	check(b, "vendor.service", SA_ALIASES, "vendor2.service");
	obj_set_free(a);
	obj_set_free(b);
}

static void test_dropins(void **state)
{
	struct fixture *f = *state;
	static const char reset[] = "[Service]\nExecStart=\nExecStart=/usr/bin/evil --now\n";
	static const char lib10[] = "[Service]\nExecStart=/bin/lib10\n";
	static const char etc10[] = "[Service]\nExecStart=/bin/etc10\n";
	static const char typed[] = "[Service]\nExecStart=/bin/all-services\n";
	static const char prefix[] = "[Service]\nExecStart=/bin/prefix\n";
	struct obj_set *a, *b, *c, *d;
	char exp[1024];

	put(f, LIB "foo.service", foo_unit);
	put(f, LIB "foo-bar-baz.service", foo_unit);
	a = collect(f);

	/* a drop-in that resets ExecStart and sets its own */
	put(f, ETC "foo.service.d/override.conf", reset);
	b = collect(f);
	no_problems(f);
	snprintf(exp, sizeof(exp), ETC "foo.service.d/override.conf %s", sha(reset));
	check(b, "foo.service", SA_DROPINS, exp);
	check(b, "foo.service", SA_EXEC_START, "/usr/bin/evil --now");
	check(b, "foo.service", SA_HASH, sha(foo_unit));
	assert_int_equal(diff(a, b, "foo.service"), ATTR_BIT(SA_DROPINS) | ATTR_BIT(SA_EXEC_START));
	assert_int_equal(diff(a, b, "foo-bar-baz.service"), 0);

	/* of one name the highest-priority dir wins; drop-ins apply in name order; a
	 * type-wide service.d and the dash-prefix dirs apply to foo-bar-baz.service */
	rm(f, ETC "foo.service.d/override.conf");
	put(f, LIB "foo-bar-baz.service.d/10-x.conf", lib10);
	put(f, ETC "foo-bar-baz.service.d/10-x.conf", etc10);
	put(f, LIB "service.d/05-all.conf", typed);
	put(f, LIB "foo-.service.d/20-prefix.conf", prefix);
	put(f, LIB "foo-bar-.service.d/30-prefix.conf", prefix);
	put(f, LIB "foo-bar-.service.d/notconf.txt", prefix);
	put(f, LIB "foo-bar-.service.d/.hidden.conf", prefix);
	c = collect(f);
	no_problems(f);
	snprintf(exp, sizeof(exp),
	         ETC "foo-bar-baz.service.d/10-x.conf %s\n" LIB
	             "foo-.service.d/20-prefix.conf %s\n" LIB
	             "foo-bar-.service.d/30-prefix.conf %s\n" LIB "service.d/05-all.conf %s",
	         sha(etc10), sha(prefix), sha(prefix), sha(typed));
	check(c, "foo-bar-baz.service", SA_DROPINS, exp);
	check(c, "foo-bar-baz.service", SA_EXEC_START,
	      "/usr/bin/foo -d\n/bin/all-services\n/bin/etc10\n/bin/prefix\n/bin/prefix");
	/* foo.service has no dash: only the type-wide dir */
	snprintf(exp, sizeof(exp), LIB "service.d/05-all.conf %s", sha(typed));
	check(c, "foo.service", SA_DROPINS, exp);

	/* a drop-in linked to /dev/null hides the vendor one of its name */
	ln(f, ETC "foo-bar-baz.service.d/10-x.conf", "/dev/null");
	rm(f, LIB "foo-bar-.service.d/30-prefix.conf");
	rm(f, LIB "foo-.service.d/20-prefix.conf");
	rm(f, LIB "service.d/05-all.conf");
	d = collect(f);
	no_problems(f);
	snprintf(exp, sizeof(exp), ETC "foo-bar-baz.service.d/10-x.conf %s", sha(""));
	check(d, "foo-bar-baz.service", SA_DROPINS, exp);
	check(d, "foo-bar-baz.service", SA_EXEC_START, "/usr/bin/foo -d");
	obj_set_free(a);
	obj_set_free(b);
	obj_set_free(c);
	obj_set_free(d);
}

static void test_timer(void **state)
{
	struct fixture *f = *state;
	static const char t1[] = "[Unit]\nDescription=T\n[Timer]\nOnCalendar=daily\n"
	                         "Persistent=true\n[Install]\nWantedBy=timers.target\n";
	static const char t2[] = "[Timer]\nOnCalendar=*-*-* 03:00:00\nOnBootSec=5min\n"
	                         "[Install]\nWantedBy=timers.target\n";
	struct obj_set *a, *b, *c;

	put(f, LIB "backup.timer", t1);
	put(f, LIB "backup.service", "[Service]\nExecStart=/usr/bin/backup\n");
	a = collect(f);
	no_problems(f);
	check(a, "backup.timer", SA_SCHEDULE, "OnCalendar=daily");
	check(a, "backup.timer", SA_EXEC_START, NULL);
	check(a, "backup.service", SA_SCHEDULE, NULL);
	check(a, "backup.service", SA_ENABLED, "static");

	put(f, LIB "backup.timer", t2);
	b = collect(f);
	check(b, "backup.timer", SA_SCHEDULE, "OnCalendar=*-*-* 03:00:00\nOnBootSec=5min");
	assert_int_equal(diff(a, b, "backup.timer"), ATTR_BIT(SA_HASH) | ATTR_BIT(SA_SCHEDULE));

	/* an empty On*= in a drop-in resets all of them */
	put(f, ETC "backup.timer.d/x.conf", "[Timer]\nOnBootSec=\nOnUnitActiveSec=1h\n");
	c = collect(f);
	no_problems(f);
	check(c, "backup.timer", SA_SCHEDULE, "OnUnitActiveSec=1h");
	obj_set_free(a);
	obj_set_free(b);
	obj_set_free(c);
}

static void test_instance(void **state)
{
	struct fixture *f = *state;
	static const char getty[] =
	        "[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - "
	        "$TERM\n[Install]\nWantedBy=getty.target\n";
	static const char tconf[] = "[Service]\nExecStart=\nExecStart=/sbin/agetty --all\n";
	static const char iconf[] = "[Service]\nExecStart=/sbin/agetty --tty1-only\n";
	struct obj_set *a, *b;
	char exp[512];

	put(f, LIB "getty@.service", getty);
	put(f, LIB "getty@.service.d/t.conf", tconf);
	a = collect(f);
	assert_int_equal(obj_set_count(a), 1);
	check(a, "getty@.service", SA_ENABLED, "disabled");

	ln(f, ETC "getty.target.wants/getty@tty1.service", LIB "getty@.service");
	/* the instance's own drop-ins come with the template's */
	put(f, ETC "getty@tty1.service.d/u.conf", iconf);
	/* a link to an instance of a template that does not exist adds nothing */
	ln(f, ETC "getty.target.wants/nosuch@tty1.service", LIB "nosuch@.service");
	b = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(b), 2);
	check(b, "getty@tty1.service", SA_UNIT_FILE, LIB "getty@.service");
	check(b, "getty@tty1.service", SA_HASH, sha(getty));
	check(b, "getty@tty1.service", SA_ENABLED, "enabled");
	check(b, "getty@tty1.service", SA_ALIASES, "");
	snprintf(exp, sizeof(exp),
	         ETC "getty@tty1.service.d/u.conf %s\n" LIB "getty@.service.d/t.conf %s",
	         sha(iconf), sha(tconf));
	check(b, "getty@tty1.service", SA_DROPINS, exp);
	check(b, "getty@tty1.service", SA_EXEC_START,
	      "/sbin/agetty --all\n/sbin/agetty --tty1-only");
	check(b, "getty@.service", SA_EXEC_START, "/sbin/agetty --all");
	check(b, "getty@.service", SA_ENABLED, "indirect");
	obj_set_free(a);
	obj_set_free(b);
}

static void test_generated_transient(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a;

	put(f, "/run/systemd/generator/data.mount", "[Mount]\nWhat=/dev/sdb1\nWhere=/data\n");
	ln(f, "/run/systemd/generator/local-fs.target.requires/data.mount", "../data.mount");
	put(f, "/run/systemd/generator.late/rc.service", "[Service]\nExecStart=/etc/init.d/rc\n");
	put(f, "/run/systemd/generator.early/early.service", "[Service]\nExecStart=/bin/e\n");
	put(f, "/run/systemd/transient/run-u7.service", "[Service]\nExecStart=/bin/sleep 9\n");
	/* /etc wins over generator and generator.late */
	put(f, "/run/systemd/generator.late/local.service", "[Service]\nExecStart=/bin/gen\n");
	put(f, ETC "local.service", "[Service]\nExecStart=/bin/local\n");
	a = collect(f);
	no_problems(f);
	check(a, "data.mount", SA_ENABLED, "generated");
	check(a, "data.mount", SA_UNIT_FILE, "/run/systemd/generator/data.mount");
	check(a, "rc.service", SA_ENABLED, "generated");
	check(a, "early.service", SA_ENABLED, "generated");
	check(a, "run-u7.service", SA_ENABLED, "transient");
	check(a, "run-u7.service", SA_EXEC_START, "/bin/sleep 9");
	check(a, "local.service", SA_ENABLED, "static");
	check(a, "local.service", SA_EXEC_START, "/bin/local");
	assert_int_equal(obj_set_count(a), 5);
	obj_set_free(a);
}

static void test_merged_usr(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a;
	char exp[256];

	ln(f, "/lib", "usr/lib");
	put(f, "/usr/lib/systemd/system/foo.service", foo_unit);
	put(f, "/usr/lib/systemd/system/foo.service.d/a.conf", "[Service]\nExecStart=/bin/two\n");
	ln(f, "/usr/lib/systemd/system/bar.service", "foo.service");
	ln(f, ETC "multi-user.target.wants/foo.service", "/usr/lib/systemd/system/foo.service");
	a = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(a), 2);
	/* named by the first unit dir that is that directory */
	check(a, "foo.service", SA_UNIT_FILE, LIB "foo.service");
	check(a, "bar.service", SA_UNIT_FILE, LIB "foo.service");
	check(a, "foo.service", SA_ALIASES, "bar.service");
	snprintf(exp, sizeof(exp), LIB "foo.service.d/a.conf %s",
	         sha("[Service]\nExecStart=/bin/two\n"));
	check(a, "foo.service", SA_DROPINS, exp);
	check(a, "foo.service", SA_EXEC_START, "/usr/bin/foo -d\n/bin/two");
	check(a, "foo.service", SA_ENABLED, "enabled");
	obj_set_free(a);
}

static void test_wanted_by(void **state)
{
	struct fixture *f = *state;
	static const char getty[] = "[Service]\nExecStart=/sbin/agetty %I\n"
	                            "[Install]\nWantedBy=getty.target\n";
	struct obj_set *a, *b, *c, *d;

	put(f, LIB "foo.service", foo_unit);
	put(f, LIB "static.service", "[Service]\nExecStart=/bin/s\n");
	put(f, LIB "getty@.service", getty);
	a = collect(f);
	no_problems(f);
	check(a, "foo.service", SA_WANTED_BY, "");
	check(a, "static.service", SA_WANTED_BY, "");
	check(a, "getty@.service", SA_WANTED_BY, "");

	/* links among vendor files start units at boot, though systemctl is-enabled
	 * does not count them: only wanted_by tells */
	ln(f, LIB "multi-user.target.wants/foo.service", "../foo.service");
	ln(f, LIB "sysinit.target.requires/static.service", "../static.service");
	ln(f, LIB "getty.target.wants/getty@tty1.service", "../getty@.service");
	/* a file that is no symlink, a name that is no unit, a dir that is no wants dir */
	put(f, LIB "multi-user.target.wants/plain.service", "[Service]\nExecStart=/bin/p\n");
	ln(f, LIB "multi-user.target.wants/bad name.service", "../foo.service");
	ln(f, LIB "x.target.other/foo.service", "../foo.service");
	b = collect(f);
	no_problems(f);
	assert_int_equal(obj_set_count(b), 4);
	check(b, "foo.service", SA_ENABLED, "disabled");
	check(b, "foo.service", SA_WANTED_BY, "multi-user.target.wants");
	assert_int_equal(diff(a, b, "foo.service"), ATTR_BIT(SA_WANTED_BY));
	check(b, "static.service", SA_ENABLED, "static");
	check(b, "static.service", SA_WANTED_BY, "sysinit.target.requires");
	assert_int_equal(diff(a, b, "static.service"), ATTR_BIT(SA_WANTED_BY));
	check(b, "getty@tty1.service", SA_ENABLED, "static");
	check(b, "getty@tty1.service", SA_WANTED_BY, "getty.target.wants");
	check(b, "getty@.service", SA_WANTED_BY, "");
	assert_int_equal(diff(a, b, "getty@.service"), 0);

	/* a link in /etc changes both */
	ln(f, ETC "graphical.target.wants/foo.service", LIB "foo.service");
	c = collect(f);
	no_problems(f);
	check(c, "foo.service", SA_ENABLED, "enabled");
	check(c, "foo.service", SA_WANTED_BY, "graphical.target.wants\nmulti-user.target.wants");
	assert_int_equal(diff(b, c, "foo.service"), ATTR_BIT(SA_ENABLED) | ATTR_BIT(SA_WANTED_BY));

	/* one under /run, and one named after an alias counts for the alias */
	ln(f, RUN "x.target.upholds/static.service", LIB "static.service");
	ln(f, ETC "foo2.service", LIB "foo.service");
	ln(f, ETC "y.target.wants/foo2.service", LIB "foo.service");
	d = collect(f);
	no_problems(f);
	check(d, "static.service", SA_ENABLED, "enabled-runtime");
	check(d, "static.service", SA_WANTED_BY, "sysinit.target.requires\nx.target.upholds");
	check(d, "foo2.service", SA_WANTED_BY, "y.target.wants");
	check(d, "foo.service", SA_WANTED_BY, "graphical.target.wants\nmulti-user.target.wants");
	obj_set_free(a);
	obj_set_free(b);
	obj_set_free(c);
	obj_set_free(d);
}

/* ---- bad input ---- */

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	static const char unit[] = "[Unit]\n"                      /* 1 */
	                           "Description=ok\n"              /* 2 */
	                           "this line is garbage\n"        /* 3 */
	                           "[Service\n"                    /* 4 */
	                           "ExecStart=/ignored\n"          /* 5: no known section */
	                           "[Service]\n"                   /* 6 */
	                           "=novalue\n"                    /* 7 */
	                           "ExecStart = /bin/a   -x  \\\n" /* 8 */
	                           "# a comment inside\n"          /* 9 */
	                           "   --long\n"                   /* 10 */
	                           "; another comment\n"           /* 11 */
	                           "  ExecStart=/bin/b\\\\\n"      /* 12: escaped backslash */
	                           "more garbage\n"                /* 13 */
	                           "ExecStart=/bin/c\n";           /* 14 */
	struct obj_set *a;

	put(f, LIB "m.service", unit);
	put(f, ETC "m.service.d/x.conf", "[Service]\nExecStart=/bin/d\nnope\n");
	a = collect(f);
	check(a, "m.service", SA_EXEC_START, "/bin/a   -x      --long\n/bin/b\\\\\n/bin/c\n/bin/d");
	check(a, "m.service", SA_HASH, sha(unit));
	check(a, "m.service", SA_ENABLED, "static");
	assert_true(has_problem(f, LIB "m.service", 3, -EBADMSG));
	assert_true(has_problem(f, LIB "m.service", 4, -EBADMSG));
	assert_true(has_problem(f, LIB "m.service", 7, -EBADMSG));
	assert_true(has_problem(f, LIB "m.service", 13, -EBADMSG));
	assert_true(has_problem(f, ETC "m.service.d/x.conf", 3, -EBADMSG));
	assert_int_equal(f->ps.n, 5);
	obj_set_free(a);
}

static void test_unreadable(void **state)
{
	struct fixture *f = *state;
	struct obj_set *a;
	char p[4096], exp[256];
	int fd;

	/* over ROOTFS_MAX_FILE (sparse) */
	put(f, LIB "big.service", "");
	full(f, LIB "big.service", p, sizeof(p));
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, ROOTFS_MAX_FILE + 1), 0);
	close(fd);
	put(f, LIB "big.service.d/x.conf", "[Service]\nExecStart=/bin/x\n");
	ln(f, ETC "multi-user.target.wants/big.service", LIB "big.service");
	/* a FIFO is never opened for reading */
	full(f, "/srv/fifo", p, sizeof(p));
	mkparents(f, "/srv/fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	ln(f, ETC "fifo.service", "/srv/fifo");
	/* an unreadable drop-in */
	put(f, LIB "ok.service", "[Service]\nExecStart=/bin/ok\n");
	full(f, "/srv/dir.conf", p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	ln(f, ETC "ok.service.d/y.conf", "/srv/dir.conf");
	a = collect(f);
	assert_true(has_problem(f, LIB "big.service", 0, -EFBIG));
	assert_true(has_problem(f, "/srv/fifo", 0, -EINVAL));
	assert_true(has_problem(f, ETC "ok.service.d/y.conf", 0, -EISDIR));
	assert_int_equal(f->ps.n, 3);
	check(a, "big.service", SA_UNIT_FILE, LIB "big.service");
	check(a, "big.service", SA_ENABLED, "enabled");
	check(a, "big.service", SA_HASH, NULL);
	check(a, "big.service", SA_EXEC_START, NULL);
	snprintf(exp, sizeof(exp), LIB "big.service.d/x.conf %s",
	         sha("[Service]\nExecStart=/bin/x\n"));
	check(a, "big.service", SA_DROPINS, exp);
	check(a, "fifo.service", SA_UNIT_FILE, "/srv/fifo");
	check(a, "fifo.service", SA_ENABLED, "alias");
	check(a, "fifo.service", SA_HASH, NULL);
	check(a, "ok.service", SA_DROPINS, ETC "ok.service.d/y.conf unreadable");
	check(a, "ok.service", SA_HASH, sha("[Service]\nExecStart=/bin/ok\n"));
	check(a, "ok.service", SA_ENABLED, "static");
	check(a, "ok.service", SA_WANTED_BY, "");
	/* what the drop-in says is unknown, so is the effective ExecStart */
	check(a, "ok.service", SA_EXEC_START, NULL);
	obj_set_free(a);

	/* the same for a timer's schedule; a readable drop-in gives it back */
	put(f, LIB "t.timer", "[Timer]\nOnCalendar=daily\n");
	ln(f, ETC "t.timer.d/y.conf", "/srv/dir.conf");
	a = collect(f);
	assert_true(has_problem(f, ETC "t.timer.d/y.conf", 0, -EISDIR));
	check(a, "t.timer", SA_SCHEDULE, NULL);
	check(a, "t.timer", SA_DROPINS, ETC "t.timer.d/y.conf unreadable");
	obj_set_free(a);
	rm(f, ETC "t.timer.d/y.conf");
	rm(f, ETC "ok.service.d/y.conf");
	put(f, ETC "ok.service.d/y.conf", "[Service]\nExecStart=/bin/two\n");
	a = collect(f);
	check(a, "ok.service", SA_EXEC_START, "/bin/ok\n/bin/two");
	check(a, "t.timer", SA_SCHEDULE, "OnCalendar=daily");
	obj_set_free(a);

	if (geteuid() != 0) { /* root reads anything */
		put(f, LIB "secret.service", "[Service]\nExecStart=/bin/s\n");
		full(f, LIB "secret.service", p, sizeof(p));
		assert_int_equal(chmod(p, 0), 0);
		a = collect(f);
		assert_true(has_problem(f, LIB "secret.service", 0, -EACCES));
		check(a, "secret.service", SA_ENABLED, "bad");
		check(a, "secret.service", SA_HASH, NULL);
		check(a, "secret.service", SA_WANTED_BY, "");
		obj_set_free(a);

		/* a drop-in directory that cannot be listed hides what applies */
		full(f, ETC "ok.service.d", p, sizeof(p));
		assert_int_equal(chmod(p, 0), 0);
		a = collect(f);
		assert_int_equal(chmod(p, 0755), 0);
		assert_true(has_problem(f, ETC "ok.service.d", 0, -EACCES));
		check(a, "ok.service", SA_DROPINS, "");
		check(a, "ok.service", SA_EXEC_START, NULL);
		obj_set_free(a);
	}
}

static void test_outside_root(void **state)
{
	struct fixture *f = *state;
	static const char inside[] = "[Service]\nExecStart=/inside\n";
	struct obj_set *a;

	/* absolute and ../-escaping links resolve inside the root */
	put(f, "/etc/passwd", inside);
	ln(f, ETC "abs.service", "/etc/passwd");
	ln(f, ETC "rel.service", "../../../../../../../../../../etc/passwd");
	ln(f, ETC "dangling.service", "/nonexistent/x.service");
	put(f, "/opt/app/app.service", inside);
	ln(f, ETC "app.service", "../../../../../../opt/app/app.service");
	a = collect(f);
	check(a, "abs.service", SA_UNIT_FILE, "/etc/passwd");
	check(a, "abs.service", SA_HASH, sha(inside));
	check(a, "rel.service", SA_UNIT_FILE, "/etc/passwd");
	check(a, "rel.service", SA_HASH, sha(inside));
	check(a, "rel.service", SA_EXEC_START, "/inside");
	check(a, "app.service", SA_UNIT_FILE, "/opt/app/app.service");
	check(a, "app.service", SA_ENABLED, "linked"); /* by a link of its own name */
	check(a, "dangling.service", SA_ENABLED, "bad");
	check(a, "dangling.service", SA_UNIT_FILE, "/nonexistent/x.service");
	check(a, "dangling.service", SA_HASH, NULL);
	assert_true(has_problem(f, ETC "dangling.service", 0, -ENOENT));
	assert_int_equal(f->ps.n, 1);
	obj_set_free(a);
}

static void test_weird(void **state)
{
	struct fixture *f = *state;
	static const char crlf[] =
	        "[Service]\r\nExecStart=/bin/\xff\xfe odd\r\nExecStart=/bin/x\0y\r"
	        "ExecStart=/bin/z\n";
	struct obj_set *a;
	char exp[512];

	put(f, LIB "ok.service", "[Service]\nExecStart=/bin/ok\n");
	put(f, LIB "bad name.service", "[Service]\nExecStart=/bin/no\n");
	put(f, LIB "f\xc3\xb6o.service", "[Service]\nExecStart=/bin/no\n");
	put(f, LIB "noext", "[Service]\nExecStart=/bin/no\n");
	put(f, LIB ".service", "[Service]\nExecStart=/bin/no\n");
	put(f, LIB "@x.service", "[Service]\nExecStart=/bin/no\n");
	put(f, LIB "x.unknowntype", "[Service]\nExecStart=/bin/no\n");
	mkparents(f, LIB "dir.service/x");
	put(f, LIB "ok.service.d/my override\n.conf", "[Service]\nExecStart=/bin/two\n");
	put_n(f, LIB "crlf.service", crlf, sizeof(crlf) - 1);
	a = collect(f);
	assert_true(has_problem(f, LIB "crlf.service", 4, -EBADMSG));
	assert_int_equal(f->ps.n, 1);
	assert_int_equal(obj_set_count(a), 2);
	snprintf(exp, sizeof(exp), LIB "ok.service.d/my\\x20override\\x0a.conf %s",
	         sha("[Service]\nExecStart=/bin/two\n"));
	check(a, "ok.service", SA_DROPINS, exp);
	check(a, "ok.service", SA_EXEC_START, "/bin/ok\n/bin/two");
	/* "\r\n", "\r" and NUL end lines as in systemd: "y" is a line of its own, and
	 * malformed; other bytes are kept as they are */
	check(a, "crlf.service", SA_EXEC_START, "/bin/\xff\xfe odd\n/bin/x\n/bin/z");
	obj_set_free(a);
}

static void test_bom(void **state)
{
	struct fixture *f = *state;
	static const char unit[] = "\xef\xbb\xbf[Service]\nExecStart=/bin/real\n";
	static const char drop[] = "\xef\xbb\xbf[Service]\nExecStart=\nExecStart=/bin/drop\n";
	static const char late[] = "[Service]\n\xef\xbb\xbf[Service]\nExecStart=/bin/late\n";
	struct obj_set *a;
	char exp[256];

	/* systemd skips a byte order mark at the start of a file: the header counts */
	put(f, LIB "bom.service", unit);
	put(f, ETC "bom.service.d/x.conf", drop);
	put(f, LIB "late.service", late);
	a = collect(f);
	/* only at the start: elsewhere it is part of the line */
	assert_true(has_problem(f, LIB "late.service", 2, -EBADMSG));
	assert_int_equal(f->ps.n, 1);
	check(a, "bom.service", SA_HASH, sha(unit));
	snprintf(exp, sizeof(exp), ETC "bom.service.d/x.conf %s", sha(drop));
	check(a, "bom.service", SA_DROPINS, exp);
	check(a, "bom.service", SA_EXEC_START, "/bin/drop");
	check(a, "late.service", SA_EXEC_START, "/bin/late");
	obj_set_free(a);
}

static void test_problem_flood(void **state)
{
	struct fixture *f = *state;
	static const char line[] = "garbage\n";
	static const char tail[] = "[Service]\nExecStart=/bin/x\n";
	size_t n = 300 * (sizeof(line) - 1) + sizeof(tail);
	char *buf = malloc(n), *p = buf;
	struct obj_set *a;

	assert_non_null(buf);
	for (int i = 0; i < 300; i++)
		p = stpcpy(p, line);
	strcpy(p, tail);
	put(f, LIB "flood.service", buf);
	put(f, ETC "flood.service.d/x.conf", "[Service]\nnope\nnope\n");
	a = collect(f);
	/* SERVICES_MAX_PROBLEMS lines, then one problem saying the rest goes unreported */
	assert_int_equal(f->ps.n, SERVICES_MAX_PROBLEMS + 1 + 2);
	for (unsigned i = 1; i <= SERVICES_MAX_PROBLEMS + 1; i++)
		assert_true(has_problem(f, LIB "flood.service", i, -EBADMSG));
	assert_false(has_problem(f, LIB "flood.service", SERVICES_MAX_PROBLEMS + 2, -EBADMSG));
	for (size_t i = 0; i < f->ps.n; i++)
		if (f->ps.p[i].line == SERVICES_MAX_PROBLEMS + 1)
			assert_string_equal(f->ps.p[i].msg,
			                    "further problems in this file not reported");
	/* the cap is per file */
	assert_true(has_problem(f, ETC "flood.service.d/x.conf", 2, -EBADMSG));
	assert_true(has_problem(f, ETC "flood.service.d/x.conf", 3, -EBADMSG));
	check(a, "flood.service", SA_EXEC_START, "/bin/x");
	obj_set_free(a);
	free(buf);
}

static void test_active(void **state)
{
	struct fixture *f = *state;
	struct timespec t0, t1;
	struct obj_set *a, *b;

	put(f, LIB "foo.service", foo_unit);
	a = collect_live(f, false);
	no_problems(f);
	check(a, "foo.service", SA_ACTIVE, NULL);
	/* no systemd runs here: no state, no problem, no waiting */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	b = collect_live(f, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (access("/run/systemd/system", F_OK) == 0)
		skip();
	no_problems(f);
	check(b, "foo.service", SA_ACTIVE, NULL);
	assert_int_equal(diff(a, b, "foo.service"), 0);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	obj_set_free(a);
	obj_set_free(b);
}

/* ---- the parser on buffers ---- */

struct bad_lines {
	unsigned line[16];
	size_t n;
};

static void on_bad(void *userdata, unsigned line, const char *msg)
{
	struct bad_lines *b = userdata;

	assert_true(b->n < ARRAY_SIZE(b->line));
	b->line[b->n++] = line;
}

static void test_parse(void **state)
{
	static const char text[] = "[Install]\n"
	                           "WantedBy=a.target b.target\n"
	                           "WantedBy=\n"
	                           "RequiredBy=c.target\n"
	                           "Also=x.service y.service\n"
	                           "DefaultInstance=tty1\n"
	                           "[Service]\n"
	                           "ExecStart=/a \\\n"
	                           "\\\n"
	                           "  /b\n"
	                           "ExecStart=/c\\";
	static const char drop[] = "[Service]\nExecStart=\nExecStart=/z\n";
	static const char bom[] = "\xef\xbb\xbf[Service]\nExecStart=/a\n\xef\xbb\xbfx\n";
	struct services_conf c = {0}, d = {0};
	struct bad_lines bad = {0};
	char *big;

	assert_int_equal(services_parse(text, strlen(text), &c, on_bad, &bad), 0);
	assert_int_equal(bad.n, 0);
	assert_int_equal(c.wanted_by, 0);
	assert_int_equal(c.required_by, 1);
	assert_int_equal(c.also, 2);
	assert_string_equal(c.default_instance, "tty1");
	assert_int_equal(c.exec_start.n, 2);
	assert_string_equal(c.exec_start.v[0], "/a     /b");
	/* a backslash at the end of the file continues into nothing */
	assert_string_equal(c.exec_start.v[1], "/c");
	assert_false(c.exec_reset);

	/* a drop-in's reset replaces, its values extend */
	assert_int_equal(services_parse(drop, strlen(drop), &d, on_bad, &bad), 0);
	assert_true(d.exec_reset);
	assert_int_equal(services_conf_apply(&c, &d), 0);
	assert_int_equal(c.exec_start.n, 1);
	assert_string_equal(c.exec_start.v[0], "/z");
	services_conf_free(&d);
	services_conf_free(&c);

	/* an over-long line is reported at the line it starts on and dropped */
	big = malloc(SERVICES_MAX_LINE + 64);
	assert_non_null(big);
	strcpy(big, "[Service]\nExecStart=/ok\nExecStart=");
	memset(big + strlen(big), 'x', SERVICES_MAX_LINE);
	strcpy(big + strlen("[Service]\nExecStart=/ok\nExecStart=") + SERVICES_MAX_LINE,
	       "\nExecStart=/after\n");
	bad.n = 0;
	assert_int_equal(services_parse(big, strlen(big), &c, on_bad, &bad), 0);
	assert_int_equal(bad.n, 1);
	assert_int_equal(bad.line[0], 3);
	assert_int_equal(c.exec_start.n, 2);
	assert_string_equal(c.exec_start.v[1], "/after");
	services_conf_free(&c);
	free(big);

	/* a byte order mark is skipped at the start only; lines are still counted from it */
	bad.n = 0;
	assert_int_equal(services_parse(bom, sizeof(bom) - 1, &c, on_bad, &bad), 0);
	assert_int_equal(bad.n, 1);
	assert_int_equal(bad.line[0], 3);
	assert_int_equal(c.exec_start.n, 1);
	assert_string_equal(c.exec_start.v[0], "/a");
	services_conf_free(&c);
	assert_int_equal(services_parse("\xef\xbb", 2, &c, on_bad, &bad), 0);
	assert_int_equal(bad.n, 2);
	services_conf_free(&c);

	/* unit names */
	assert_true(services_name_valid("getty@tty1.service", 18));
	assert_true(services_name_valid("getty@.service", 14));
	assert_true(services_name_valid("-.slice", 7));
	assert_true(services_name_valid("dev-disk-by\\x2duuid-1.device", 28));
	assert_false(services_name_valid("@x.service", 10));
	assert_false(services_name_valid(".service", 8));
	assert_false(services_name_valid("a b.service", 11));
	assert_false(services_name_valid("a.conf", 6));
	assert_false(services_name_valid("a.service.d", 11));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	        T(test_override),
	        T(test_enable),
	        T(test_mask),
	        T(test_alias),
	        T(test_static_indirect),
	        T(test_dropins),
	        T(test_timer),
	        T(test_instance),
	        T(test_generated_transient),
	        T(test_merged_usr),
	        T(test_wanted_by),
	        T(test_malformed),
	        T(test_unreadable),
	        T(test_outside_root),
	        T(test_weird),
	        T(test_bom),
	        T(test_problem_flood),
	        T(test_active),
	        cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
