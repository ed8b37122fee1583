/* SPDX-License-Identifier: ISC */
/* systemd units as the system manager sees them: search path, aliases, drop-ins, enablement. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fim/core/hash.h"
#include "baseline/collect.h"
#include "baseline/rootfs.h"
#include "baseline/services.h"
#include "baseline/services_int.h"

#define SERVICES_MAX_UNITS   100000 /* unit names and enablement links, each */
#define SERVICES_MAX_DROPINS 512    /* drop-in files in force for one unit */
#define SERVICES_MAX_LINKS   8      /* alias -> alias -> ... -> unit file */
#define CHASE_MAX_LINKS      40     /* all symlinks met resolving one path, as the kernel */
#define CHASE_MAX_PATH       4096
#define DROPIN_MAX_DEPTH     64 /* dash-prefix and template steps per name */
#define HASH_TEXT_MAX        (7 + 2 * 32 + 1)

/* ---- the unit search path ---- */

enum dir_kind {
	DK_CONFIG,
	DK_TRANSIENT,
	DK_GENERATOR,
};

static const struct {
	const char *path;
	enum dir_kind kind;
} search_path[] = {
        {"/etc/systemd/system.control", DK_CONFIG},
        {"/run/systemd/system.control", DK_CONFIG},
        {"/run/systemd/transient", DK_TRANSIENT},
        {"/run/systemd/generator.early", DK_GENERATOR},
        {"/etc/systemd/system", DK_CONFIG},
        {"/etc/systemd/system.attached", DK_CONFIG},
        {"/run/systemd/system", DK_CONFIG},
        {"/run/systemd/system.attached", DK_CONFIG},
        {"/run/systemd/generator", DK_GENERATOR},
        {"/usr/local/lib/systemd/system", DK_CONFIG},
        {"/lib/systemd/system", DK_CONFIG},
        {"/usr/lib/systemd/system", DK_CONFIG},
        {"/run/systemd/generator.late", DK_GENERATOR},
};
#define NDIRS      ARRAY_SIZE(search_path)
#define DIR_CONFIG 4 /* /etc/systemd/system, where systemctl enable links */

struct udir {
	bool used; /* present and not the same directory as an earlier one */
	dev_t dev;
	ino_t ino;
	char **names; /* sorted listing */
	size_t n;
	bool dropin_dirs; /* some name ends in ".d" */
};

/* How a unit name resolves to its fragment. */
struct res {
	int err;          /* < 0: the symlink could not be resolved */
	unsigned found;   /* unit dir of the name (the template's, for an instance by link) */
	bool link;        /* the name is a symlink */
	bool masked;      /* /dev/null, a character device or an empty file */
	bool alias;       /* the final file has another name (not an instance's template) */
	char *path;       /* unit_file; where resolution stopped when err */
	const char *base; /* final file's name (points into path) */
	int dir;          /* unit dir holding the final file, or -1 */
	dev_t dev;
	ino_t ino;
};

struct unit {
	char *name;
	int dir;        /* unit dir the name was found in; -1 for an instance enabled by a link */
	bool link;      /* found as a symlink */
	struct stat st; /* lstat of the name as found */
	struct res res;
	char *active;
};

/* Text of a file read once (fragments and drop-ins are shared between units). */
struct ufile {
	char *path; /* in-root path, the key */
	int err;    /* < 0 when unreadable */
	char hash[HASH_TEXT_MAX];
	struct services_conf conf;
};

/* Where an enablement link is, as systemctl is-enabled ranks it. */
enum link_class {
	LC_CONFIG,  /* /etc/systemd/system: "enabled" */
	LC_RUNTIME, /* under /run: "enabled-runtime" */
	LC_OTHER,   /* vendor and other dirs: only instances count ("static") */
	LC_NONE,
};

struct wlink {
	char *name; /* the unit the link names */
	char *wdir; /* the directory it is in, "multi-user.target.wants" */
	enum link_class cls;
};

struct state {
	const struct collect_ctx *ctx;
	struct udir dirs[NDIRS];
	struct unit *units;
	size_t nunits, capunits;
	/* symlinks in *.wants/, *.requires/, *.upholds/: one per name and directory name */
	struct wlink *wants;
	size_t nwants, capwants;
	struct unit **aliases; /* alias units sorted by final file */
	size_t naliases;
	struct ufile **files; /* hash table of read files */
	size_t capfiles, nfiles;
	bool too_many_units, too_many_wants;
};

static char *path_join(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

static bool dir_has(const struct udir *d, const char *name)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->names[mid], name);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int add_wants(struct state *s, const char *name, const char *wdir, enum link_class cls)
{
	struct wlink *w;

	if (s->nwants >= SERVICES_MAX_UNITS) {
		s->too_many_wants = true;
		return 0;
	}
	if (s->nwants == s->capwants) {
		size_t cap = s->capwants ? s->capwants * 2 : 64;
		struct wlink *nv = realloc(s->wants, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->wants = nv;
		s->capwants = cap;
	}
	w = &s->wants[s->nwants];
	*w = (struct wlink){.cls = cls, .name = strdup(name), .wdir = strdup(wdir)};
	if (!w->name || !w->wdir) {
		free(w->name);
		free(w->wdir);
		return -ENOMEM;
	}
	s->nwants++;
	return 0;
}

/* How systemctl ranks a link in unit dir D. */
static enum link_class dir_class(unsigned d)
{
	if (d == DIR_CONFIG)
		return LC_CONFIG;
	return strncmp(search_path[d].path, "/run/", 5) == 0 ? LC_RUNTIME : LC_OTHER;
}

/* Records the names of the symlinks in DIR/SUB (a .wants/.requires/.upholds directory). */
static int scan_wants(struct state *s, unsigned d, const char *sub)
{
	const char *dir = search_path[d].path;
	enum link_class cls = dir_class(d);
	_cleanup_free_ char *path = path_join(dir, sub);
	_cleanup_close_ int fd = -1;
	char **names = NULL;
	size_t n = 0;
	int r;

	if (!path)
		return -ENOMEM;
	r = rootfs_list(s->ctx->rootfd, path, &names, &n);
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0) {
		collect_problem(s->ctx, path, 0, r, "cannot list directory");
		return r == -ENOMEM ? r : 0;
	}
	fd = rootfs_open(s->ctx->rootfd, path, O_RDONLY | O_DIRECTORY);
	for (size_t i = 0; fd >= 0 && i < n && r >= 0; i++) {
		struct stat st;

		if (!services_name_valid(names[i], strlen(names[i])) ||
		    fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
			continue;
		r = add_wants(s, names[i], sub, cls);
	}
	rootfs_names_free(names, n);
	return r;
}

static int add_unit(struct state *s, const char *name, int dir, const struct stat *st)
{
	struct unit *u;

	if (s->nunits >= SERVICES_MAX_UNITS) {
		s->too_many_units = true;
		return 0;
	}
	if (s->nunits == s->capunits) {
		size_t cap = s->capunits ? s->capunits * 2 : 256;
		struct unit *nv = realloc(s->units, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->units = nv;
		s->capunits = cap;
	}
	u = &s->units[s->nunits];
	*u = (struct unit){.dir = dir, .res = {.dir = -1}};
	if (st) {
		u->st = *st;
		u->link = S_ISLNK(st->st_mode);
	}
	u->name = strdup(name);
	if (!u->name)
		return -ENOMEM;
	s->nunits++;
	return 0;
}

static bool wants_dir_name(const char *name)
{
	static const char *const suffixes[] = {".wants", ".requires", ".upholds"};

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t n = strlen(name), k = strlen(suffixes[i]);

		if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
			return services_name_valid(name, n - k);
	}
	return false;
}

/* Lists unit dir I: unit names, enablement links; skips a directory seen before. */
static int scan_dir(struct state *s, unsigned i)
{
	const char *path = search_path[i].path;
	struct udir *d = &s->dirs[i];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = rootfs_stat(s->ctx->rootfd, path, &st);
	if (r == -ENOENT)
		return 0;
	if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	if (r < 0) {
		collect_problem(s->ctx, path, 0, r, "cannot open unit directory");
		return 0;
	}
	for (unsigned j = 0; j < i; j++)
		if (s->dirs[j].used && s->dirs[j].dev == st.st_dev && s->dirs[j].ino == st.st_ino)
			return 0; /* merged /usr: the same directory under another name */
	r = rootfs_list(s->ctx->rootfd, path, &d->names, &d->n);
	if (r == 0)
		fd = rootfs_open(s->ctx->rootfd, path, O_RDONLY | O_DIRECTORY);
	if (r == 0 && fd < 0)
		r = fd;
	if (r < 0) {
		rootfs_names_free(d->names, d->n);
		d->names = NULL;
		d->n = 0;
		collect_problem(s->ctx, path, 0, r, "cannot list unit directory");
		return r == -ENOMEM ? r : 0;
	}
	d->used = true;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	for (size_t k = 0; k < d->n && r >= 0; k++) {
		const char *name = d->names[k];
		struct stat est;

		if (services_name_valid(name, strlen(name))) {
			if (fstatat(fd, name, &est, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			if (S_ISREG(est.st_mode) || S_ISLNK(est.st_mode))
				r = add_unit(s, name, (int)i, &est);
		} else if (wants_dir_name(name)) {
			r = scan_wants(s, i, name);
		} else if (services_has_suffix(name, ".d")) {
			d->dropin_dirs = true;
		}
	}
	return r;
}

/* ---- resolving symlinks inside the root ---- */

/* True for "dev/null" (slashes repeated or trailing allowed): a mask, even where /dev is absent. */
static bool is_dev_null(const char *p)
{
	if (strncmp(p, "dev/", 4) != 0)
		return false;
	for (p += 4; *p == '/'; p++)
		;
	if (strncmp(p, "null", 4) != 0)
		return false;
	for (p += 4; *p == '/'; p++)
		;
	return *p == '\0';
}

/*
 * Resolves PATH like realpath(3) with the root as "/": every symlink
 * followed, ".." stops at the root. What reads "/dev/null" once resolved so
 * far is taken as is (an image may lack /dev). Returns 0 with *ret the canonical
 * path and *st its lstat (st_mode 0 for "/dev/null" not looked at), or a
 * negative errno with *ret where resolution stopped. *ret is malloc'd.
 */
static int chase(int rootfd, const char *path, char **ret, struct stat *st)
{
	char done[CHASE_MAX_PATH];
	_cleanup_free_ char *todo = strdup(path);
	size_t dn = 0, pos = 0;
	unsigned links = 0, tail = 0;
	int r = 0;

	*ret = NULL;
	if (!todo)
		return -ENOMEM;
	done[0] = '\0';
	*st = (struct stat){.st_mode = S_IFDIR};
	for (;;) {
		const char *c;
		size_t cn, save;
		bool last;

		while (todo[pos] == '/')
			pos++;
		if (!todo[pos])
			break;
		if (dn == 0 && is_dev_null(todo + pos)) {
			strcpy(done, "/dev/null");
			dn = strlen(done);
			*st = (struct stat){0};
			break;
		}
		c = todo + pos;
		cn = strcspn(c, "/");
		pos += cn;
		last = todo[pos + strspn(todo + pos, "/")] == '\0';
		if (cn == 1 && c[0] == '.')
			continue;
		if (cn == 2 && c[0] == '.' && c[1] == '.') {
			while (dn > 0 && done[dn - 1] != '/')
				dn--;
			if (dn > 0)
				dn--;
			done[dn] = '\0';
			*st = (struct stat){.st_mode = S_IFDIR};
			continue;
		}
		if (dn + 1 + cn >= sizeof(done)) {
			r = -ENAMETOOLONG;
			break;
		}
		save = dn;
		done[dn++] = '/';
		memcpy(done + dn, c, cn);
		dn += cn;
		done[dn] = '\0';
		r = rootfs_lstat(rootfd, done, st);
		if (r < 0)
			break;
		if (S_ISLNK(st->st_mode)) {
			_cleanup_free_ char *target = NULL;
			char *next;

			if (++links > CHASE_MAX_LINKS || (last && ++tail > SERVICES_MAX_LINKS)) {
				r = -ELOOP;
				break;
			}
			r = rootfs_readlink(rootfd, done, &target);
			if (r < 0)
				break;
			if (!*target || strlen(target) + strlen(todo + pos) >= 2 * CHASE_MAX_PATH) {
				r = !*target ? -ENOENT : -ENAMETOOLONG;
				break;
			}
			if (asprintf(&next, "%s%s", target, todo + pos) < 0) {
				r = -ENOMEM;
				break;
			}
			dn = target[0] == '/' ? 0 : save;
			done[dn] = '\0';
			free(todo);
			todo = next;
			pos = 0;
			continue;
		}
		if (!last && !S_ISDIR(st->st_mode)) {
			r = -ENOTDIR;
			break;
		}
	}
	if (r < 0) {
		if (asprintf(ret, "%s%s%s", done, todo[pos] == '/' || !todo[pos] ? "" : "/",
		             todo + pos) < 0)
			*ret = NULL;
		return r;
	}
	*ret = strdup(dn ? done : "/");
	return *ret ? 0 : -ENOMEM;
}

/* The unit dir that is the directory holding canonical PATH, or -1. */
static int dir_of(struct state *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[CHASE_MAX_PATH];
	struct stat st;

	if (!slash || (size_t)(slash - path) >= sizeof(parent))
		return -1;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	if (rootfs_stat(s->ctx->rootfd, parent[0] ? parent : "/", &st) < 0)
		return -1;
	for (unsigned i = 0; i < NDIRS; i++)
		if (s->dirs[i].used && s->dirs[i].dev == st.st_dev && s->dirs[i].ino == st.st_ino)
			return (int)i;
	return -1;
}

static bool masking(const struct stat *st)
{
	/* systemd's null_or_empty(): a character device or an empty regular file */
	return S_ISCHR(st->st_mode) || (S_ISREG(st->st_mode) && st->st_size == 0);
}

static int resolve(struct state *s, struct unit *u)
{
	_cleanup_free_ char *found = path_join(search_path[u->dir].path, u->name);
	struct res *res = &u->res;
	struct stat st;
	char tmpl[UNIT_NAME_MAX + 1];
	int r;

	if (!found)
		return -ENOMEM;
	res->link = u->link;
	res->dir = u->dir;
	res->found = (unsigned)u->dir;
	if (!u->link) {
		res->path = TAKE_PTR(found);
		res->masked = masking(&u->st);
		res->dev = u->st.st_dev;
		res->ino = u->st.st_ino;
		res->base = strrchr(res->path, '/') + 1;
		return 0;
	}
	r = chase(s->ctx->rootfd, found, &res->path, &st);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		collect_problem(s->ctx, found, 0, r, "cannot resolve the unit file symlink");
		res->err = r;
		res->dir = -1;
		if (!res->path && !(res->path = strdup(found)))
			return -ENOMEM;
		res->base = strrchr(res->path, '/') ? strrchr(res->path, '/') + 1 : res->path;
		return 0;
	}
	if (st.st_mode == 0 || masking(&st)) { /* st_mode 0: "/dev/null" */
		res->masked = true;
		res->dir = -1;
		res->base = strrchr(res->path, '/') + 1;
		return 0;
	}
	res->dev = st.st_dev;
	res->ino = st.st_ino;
	res->dir = dir_of(s, res->path);
	if (res->dir >= 0 && strcmp(res->path, "/") != 0) {
		/* name the file by the unit dir it is in, as the search path spells it */
		char *p = path_join(search_path[res->dir].path, strrchr(res->path, '/') + 1);

		if (!p)
			return -ENOMEM;
		free(res->path);
		res->path = p;
	}
	res->base = strrchr(res->path, '/') + 1;
	res->alias = strcmp(res->base, u->name) != 0 &&
	             !(services_instance_of(u->name, tmpl, sizeof(tmpl)) &&
	               strcmp(res->base, tmpl) == 0);
	return 0;
}

/* ---- the file cache ---- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct ufile **file_slot(struct ufile **tab, size_t cap, const char *path)
{
	size_t i = (size_t)str_hash(path) & (cap - 1);

	while (tab[i] && strcmp(tab[i]->path, path) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int files_grow(struct state *s)
{
	size_t cap = s->capfiles ? s->capfiles * 2 : 256;
	struct ufile **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < s->capfiles; i++)
		if (s->files[i])
			*file_slot(tab, cap, s->files[i]->path) = s->files[i];
	free(s->files);
	s->files = tab;
	s->capfiles = cap;
	return 0;
}

struct bad_ctx {
	const struct collect_ctx *ctx;
	const char *path;
	unsigned problems;
};

/* Reports a malformed line, at most SERVICES_MAX_PROBLEMS per file: a crafted file must not
 * flood the report. */
static void on_bad_line(void *userdata, unsigned line, const char *msg)
{
	struct bad_ctx *b = userdata;

	if (b->problems > SERVICES_MAX_PROBLEMS)
		return;
	if (b->problems++ == SERVICES_MAX_PROBLEMS) {
		collect_problem(b->ctx, b->path, line, -EBADMSG,
		                "further problems in this file not reported");
		return;
	}
	collect_problem(b->ctx, b->path, line, -EBADMSG, "%s", msg);
}

static void hash_text(const char *buf, size_t n, char out[HASH_TEXT_MAX])
{
	uint8_t md[32];

	out[0] = '\0';
	if (hash_buffer(HASH_SHA256, buf, n, md) < 0)
		return;
	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Reads and parses PATH once; problems are reported the first time only. */
static int load_file(struct state *s, const char *path, const struct ufile **ret)
{
	_cleanup_free_ char *buf = NULL, *real = NULL;
	struct ufile **slot, *f;
	struct stat st;
	size_t len = 0;
	int r;

	if ((s->nfiles + 1) * 2 > s->capfiles && files_grow(s) < 0)
		return -ENOMEM;
	slot = file_slot(s->files, s->capfiles, path);
	if (*slot) {
		*ret = *slot;
		return 0;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return -ENOMEM;
	}
	*slot = f;
	s->nfiles++;
	*ret = f;

	/* a drop-in linked to /dev/null masks others of its name and says nothing */
	r = chase(s->ctx->rootfd, path, &real, &st);
	if (r == 0 && (st.st_mode == 0 || masking(&st))) {
		hash_text("", 0, f->hash);
		return 0;
	}
	if (r == 0)
		r = rootfs_read(s->ctx->rootfd, real, ROOTFS_MAX_FILE, &buf, &len, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		f->err = r;
		collect_problem(s->ctx, path, 0, r, "cannot read unit file");
		return 0;
	}
	hash_text(buf, len, f->hash);
	return services_parse(buf, len, &f->conf, on_bad_line,
	                      &(struct bad_ctx){.ctx = s->ctx, .path = path});
}

/* ---- drop-ins ---- */

struct dropin {
	char *path;
	const char *base; /* into path */
};

struct dropins {
	char **dirs; /* drop-in directories in priority order */
	size_t ndirs;
	struct dropin *v;
	size_t n;
	bool full;    /* some were left out: too many */
	bool unknown; /* some directory could not be listed */
};

static void dropins_free(struct dropins *d)
{
	for (size_t i = 0; i < d->ndirs; i++)
		free(d->dirs[i]);
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].path);
	free(d->dirs);
	free(d->v);
	*d = (struct dropins){0};
}

static int add_dropin_dir(struct dropins *d, const char *dir, const char *name)
{
	char *p, **nv;

	if (asprintf(&p, "%s/%s.d", dir, name) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < d->ndirs; i++)
		if (strcmp(d->dirs[i], p) == 0) {
			free(p);
			return 0;
		}
	if (d->ndirs >= SERVICES_MAX_DROPINS) {
		d->full = true;
		free(p);
		return 0;
	}
	nv = realloc(d->dirs, (d->ndirs + 1) * sizeof(*nv));
	if (!nv) {
		free(p);
		return -ENOMEM;
	}
	d->dirs = nv;
	d->dirs[d->ndirs++] = p;
	return 0;
}

/*
 * The drop-in directories of NAME in unit dir I, as systemd searches them:
 * NAME.d, for an instance its template's, then for each dash in the
 * prefix, from the last, the truncated name ("foo-bar-.service.d",
 * "foo-.service.d"), each of those with its template too.
 */
static int find_dirs(struct state *s, unsigned i, const char *name, struct dropins *out,
                     unsigned *budget)
{
	char d[UNIT_NAME_MAX + 3], prefix[UNIT_NAME_MAX + 1], built[UNIT_NAME_MAX + 1];
	const char *at = strchr(name, '@'), *dot = strrchr(name, '.');
	char tmpl[UNIT_NAME_MAX + 1];
	bool inst, chopped = false;
	size_t pn;
	int r;

	if (*budget == 0 || !dot)
		return 0;
	(*budget)--;
	snprintf(d, sizeof(d), "%s.d", name);
	if (dir_has(&s->dirs[i], d)) {
		r = add_dropin_dir(out, search_path[i].path, name);
		if (r < 0)
			return r;
	}
	inst = services_instance_of(name, tmpl, sizeof(tmpl));
	if (inst) {
		r = find_dirs(s, i, tmpl, out, budget);
		if (r < 0)
			return r;
	}
	pn = (size_t)((at ? at : dot) - name);
	memcpy(prefix, name, pn);
	prefix[pn] = '\0';
	for (;;) {
		char *dash = strrchr(prefix, '-');
		size_t n;

		if (!dash || dash == prefix)
			return 0;
		n = (size_t)(dash - prefix);
		if (prefix[n + 1] != '\0' || chopped) {
			prefix[n + 1] = '\0';
			break;
		}
		prefix[n] = '\0'; /* a trailing dash is chopped once */
		chopped = true;
	}
	if ((size_t)snprintf(built, sizeof(built), "%s%s%.*s%s", prefix, inst ? "@" : "",
	                     inst ? (int)(dot - at - 1) : 0, inst ? at + 1 : "",
	                     dot) >= sizeof(built))
		return 0;
	return find_dirs(s, i, built, out, budget);
}

static int cmp_dropin(const void *a, const void *b)
{
	const struct dropin *x = a, *y = b;

	return strcmp(x->base, y->base);
}

/*
 * The drop-ins in force for the unit called NAMES[0] (and NAMES[1..n),
 * its aliases): the *.conf files of every drop-in directory, of one base
 * name only the one in the earliest directory (systemd's order: per name,
 * per unit dir, then the type-wide "service.d" dirs last), sorted by base
 * name, the order they are applied in.
 */
static int find_dropins(struct state *s, const char *const *names, size_t nnames, const char *type,
                        struct dropins *out)
{
	char typed[32];
	int r = 0;

	for (size_t k = 0; k < nnames && r >= 0; k++)
		for (unsigned i = 0; i < NDIRS && r >= 0; i++) {
			unsigned budget = DROPIN_MAX_DEPTH;

			if (s->dirs[i].used && s->dirs[i].dropin_dirs)
				r = find_dirs(s, i, names[k], out, &budget);
		}
	snprintf(typed, sizeof(typed), "%s.d", type);
	for (unsigned i = 0; i < NDIRS && r >= 0; i++)
		if (s->dirs[i].used && dir_has(&s->dirs[i], typed))
			r = add_dropin_dir(out, search_path[i].path, type);
	for (size_t j = 0; j < out->ndirs && r >= 0; j++) {
		char **files = NULL;
		size_t n = 0;

		r = rootfs_list(s->ctx->rootfd, out->dirs[j], &files, &n);
		if (r == -ENOENT || r == -ENOTDIR) {
			r = 0;
			continue;
		}
		if (r < 0) {
			collect_problem(s->ctx, out->dirs[j], 0, r,
			                "cannot list drop-in directory");
			out->unknown = true;
			r = r == -ENOMEM ? r : 0;
			continue;
		}
		for (size_t f = 0; f < n && r >= 0; f++) {
			struct dropin *nv;
			bool seen = false;

			if (files[f][0] == '.' || !services_has_suffix(files[f], ".conf"))
				continue;
			for (size_t i = 0; i < out->n && !seen; i++)
				seen = strcmp(out->v[i].base, files[f]) == 0;
			if (seen)
				continue;
			if (out->n >= SERVICES_MAX_DROPINS) {
				out->full = true;
				break;
			}
			nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			out->v = nv;
			nv[out->n].path = path_join(out->dirs[j], files[f]);
			if (!nv[out->n].path) {
				r = -ENOMEM;
				break;
			}
			nv[out->n].base = strrchr(nv[out->n].path, '/') + 1;
			out->n++;
		}
		rootfs_names_free(files, n);
	}
	if (r >= 0 && out->full)
		collect_problem(
		        s->ctx, out->dirs[0], 0, -E2BIG,
		        "more than %d drop-ins or drop-in directories for %s, ignoring some",
		        SERVICES_MAX_DROPINS, names[0]);
	if (r >= 0 && out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_dropin);
	return r;
}

/* ---- units, aliases, enablement ---- */

static int cmp_unit(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->dir > y->dir) - (x->dir < y->dir);
}

static struct unit *find_unit(struct state *s, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->units[mid].name, name);

		if (c == 0)
			return &s->units[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_wlink(const void *a, const void *b)
{
	const struct wlink *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (!c)
		c = strcmp(x->wdir, y->wdir);
	return c ? c : (int)x->cls - (int)y->cls;
}

/* Index of the first link whose name is >= NAME. */
static size_t wants_lower(struct state *s, const char *name)
{
	size_t lo = 0, hi = s->nwants;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->wants[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The best rank of the links naming NAME, in whatever directory. */
static enum link_class wants_class(struct state *s, const char *name)
{
	enum link_class best = LC_NONE;

	for (size_t i = wants_lower(s, name); i < s->nwants && strcmp(s->wants[i].name, name) == 0;
	     i++)
		if (s->wants[i].cls < best)
			best = s->wants[i].cls;
	return best;
}

/* An instance whose fragment is its template's (enabled by a link, or linked to it). */
static bool via_template(const struct unit *u)
{
	return u->dir < 0 || (u->res.link && !u->res.alias && !u->res.masked && !u->res.err &&
	                      strcmp(u->res.base, u->name) != 0);
}

static int cmp_alias(const void *a, const void *b)
{
	const struct unit *x = *(struct unit *const *)a, *y = *(struct unit *const *)b;

	if (x->res.dev != y->res.dev)
		return x->res.dev < y->res.dev ? -1 : 1;
	if (x->res.ino != y->res.ino)
		return x->res.ino < y->res.ino ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int index_aliases(struct state *s)
{
	for (size_t i = 0; i < s->nunits; i++) {
		struct unit *u = &s->units[i];

		if (!u->res.alias || u->dir < 0)
			continue;
		if (!s->aliases && !(s->aliases = calloc(s->nunits, sizeof(*s->aliases))))
			return -ENOMEM;
		s->aliases[s->naliases++] = u;
	}
	if (s->naliases > 1)
		qsort(s->aliases, s->naliases, sizeof(*s->aliases), cmp_alias);
	return 0;
}

/* The alias units whose final file is U's: s->aliases[*lo..*hi). */
static void alias_range(struct state *s, const struct unit *u, size_t *lo, size_t *hi)
{
	size_t a = 0, b = s->naliases;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct res *m = &s->aliases[mid]->res;

		if (m->dev < u->res.dev || (m->dev == u->res.dev && m->ino < u->res.ino))
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	for (b = a; b < s->naliases && s->aliases[b]->res.dev == u->res.dev &&
	            s->aliases[b]->res.ino == u->res.ino;
	     b++)
		;
	*hi = b;
}

/* How U is enabled by links named after it (a template also through its DefaultInstance=). */
static enum link_class enabled_by_link(struct state *s, const struct unit *u,
                                       const struct ufile *frag)
{
	enum link_class c = wants_class(s, u->name), d;
	char inst[UNIT_NAME_MAX + 2];
	const char *dot;

	if (!services_is_template(u->name) || !frag || frag->err || !frag->conf.default_instance)
		return c;
	dot = strrchr(u->name, '.');
	if ((size_t)snprintf(inst, sizeof(inst), "%.*s%s%s", (int)(dot - u->name), u->name,
	                     frag->conf.default_instance, dot) >= sizeof(inst))
		return c;
	d = wants_class(s, inst);
	return d < c ? d : c;
}

static bool strv_has(const struct services_strv *l, const char *v)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], v) == 0)
			return true;
	return false;
}

/*
 * Symlinks of other names to U's file in /etc/systemd/system or under
 * /run: *declared gets the best rank of those U's Alias= lists (made by
 * systemctl enable), *other that of the rest (systemctl: "indirect").
 */
static void alias_links(struct state *s, const struct unit *u, const struct ufile *frag,
                        enum link_class *declared, enum link_class *other)
{
	size_t lo, hi;

	*declared = *other = LC_NONE;
	if (via_template(u) || u->res.masked || u->res.err)
		return;
	alias_range(s, u, &lo, &hi);
	for (size_t i = lo; i < hi; i++) {
		const struct unit *a = s->aliases[i];
		enum link_class c = dir_class((unsigned)a->dir);
		enum link_class *to = frag && !frag->err && strv_has(&frag->conf.alias, a->name)
		                              ? declared
		                              : other;

		if (a != u && c != LC_OTHER && c < *to)
			*to = c;
	}
}

/* True when template U has an instance enabled in /etc or /run. */
static bool instance_enabled(struct state *s, const struct unit *u)
{
	const char *dot = strrchr(u->name, '.');
	size_t stem = (size_t)(dot - u->name); /* "foo@" */
	char prefix[UNIT_NAME_MAX + 1];

	memcpy(prefix, u->name, stem);
	prefix[stem] = '\0';
	for (size_t i = wants_lower(s, prefix);
	     i < s->nwants && strncmp(s->wants[i].name, prefix, stem) == 0; i++) {
		const char *w = s->wants[i].name, *wdot = strrchr(w, '.');

		if (strcmp(wdot, dot) == 0 && wdot > w + stem && s->wants[i].cls <= LC_RUNTIME)
			return true;
	}
	return false;
}

/* The unit's state in systemctl is-enabled's words. */
static const char *unit_state(struct state *s, const struct unit *u, const struct ufile *frag)
{
	const struct res *res = &u->res;
	const struct services_conf *c;
	enum link_class link, declared, other;
	unsigned rules;

	if (res->masked)
		return strncmp(search_path[res->found].path, "/run/", 5) == 0 ? "masked-runtime"
		                                                              : "masked";
	if (res->err)
		return "bad";
	if (res->alias)
		return "alias";
	if (res->dir >= 0 && search_path[res->dir].kind == DK_GENERATOR)
		return "generated";
	if (res->dir >= 0 && search_path[res->dir].kind == DK_TRANSIENT)
		return "transient";
	link = enabled_by_link(s, u, frag);
	alias_links(s, u, frag, &declared, &other);
	link = declared < link ? declared : link;
	if (link == LC_CONFIG)
		return "enabled";
	if (link == LC_RUNTIME)
		return "enabled-runtime";
	if (link == LC_OTHER && services_instance_of(u->name, NULL, 0))
		return "static"; /* instantiated by a vendor link */
	/* made available by a symlink of its own name ("systemctl link") */
	if (u->dir >= 0 && res->link && strcmp(res->base, u->name) == 0) {
		if (u->dir == DIR_CONFIG)
			return "linked";
		if (strncmp(search_path[u->dir].path, "/run/", 5) == 0)
			return "linked-runtime";
	}
	if (!frag || frag->err)
		return "bad";
	if (other != LC_NONE || (services_is_template(u->name) && instance_enabled(s, u)))
		return "indirect"; /* in use under another name */
	c = &frag->conf;
	rules = c->wanted_by + c->required_by + c->upheld_by + (unsigned)c->alias.n;
	if (!rules && !c->also && !c->default_instance)
		return "static";
	if (!rules && c->also)
		return "indirect";
	return "disabled";
}

/* ---- records ---- */

/* Path text for a list element: bytes that would split it (space, newline) escaped as \xHH. */
static char *escape_path(const char *p)
{
	size_t n = strlen(p);
	char *out = malloc(4 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (; *p; p++) {
		uint8_t c = (uint8_t)*p;

		if (c <= 0x20 || c == 0x7f || c == '\\')
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

struct budget {
	size_t used;
	bool full;
};

/* Adds element V unless the list would outgrow what a record holds. */
static int add_elem(struct obj_set *out, unsigned attr, const char *v, struct budget *b)
{
	size_t n = strlen(v);

	if (b->used + n + 1 > OBJ_MAX_VALUE / 2 || n > OBJ_MAX_ELEMENT) {
		b->full = true;
		return 0;
	}
	b->used += n + 1;
	return obj_list_add(out, attr, v, n);
}

static void add_list(struct obj_set *out, unsigned attr, const struct services_strv *l)
{
	struct budget b = {0};

	obj_list_touch(out, attr);
	for (size_t i = 0; i < l->n; i++)
		add_elem(out, attr, l->v[i], &b);
}

/* Aliases of U into *names (U's own name first), at most MAX. */
static size_t unit_names(struct state *s, const struct unit *u, const char **names, size_t max)
{
	size_t n = 0, lo, hi;

	names[n++] = u->res.alias && services_name_valid(u->res.base, strlen(u->res.base))
	                     ? u->res.base
	                     : u->name;
	if (via_template(u) || u->res.masked || u->res.err)
		return n;
	alias_range(s, u, &lo, &hi);
	for (size_t i = lo; i < hi && n < max; i++)
		if (strcmp(s->aliases[i]->name, names[0]) != 0)
			names[n++] = s->aliases[i]->name;
	return n;
}

static int record_config(struct state *s, struct unit *u, const struct ufile *frag,
                         struct obj_set *out)
{
	const char *names[64], *type = services_unit_type(u->name, strlen(u->name));
	struct services_conf conf = {0};
	struct dropins di = {0};
	struct budget b = {0};
	size_t nn = unit_names(s, u, names, ARRAY_SIZE(names));
	bool have = frag && !frag->err;
	int r;

	r = find_dropins(s, names, nn, type, &di);
	if (r == 0 && have)
		r = services_conf_apply(&conf, &frag->conf);
	obj_list_touch(out, SA_DROPINS);
	for (size_t i = 0; i < di.n && r >= 0; i++) {
		const struct ufile *f;
		_cleanup_free_ char *el = NULL, *esc = NULL;

		r = load_file(s, di.v[i].path, &f);
		if (r < 0)
			break;
		esc = escape_path(di.v[i].path);
		if (!esc || asprintf(&el, "%s %s", esc, f->err ? "unreadable" : f->hash) < 0) {
			el = NULL;
			r = -ENOMEM;
			break;
		}
		add_elem(out, SA_DROPINS, el, &b);
		/* the effective values are known only if every drop-in in force was read */
		if (f->err)
			have = false;
		if (have && services_conf_apply(&conf, &f->conf) == -E2BIG)
			collect_problem(s->ctx, di.v[i].path, 0, -E2BIG,
			                "too many ExecStart= or On*= settings, ignoring some");
	}
	if (r == -E2BIG)
		r = 0;
	if (b.full)
		collect_problem(s->ctx, u->res.path, 0, -E2BIG, "too many drop-ins to record");
	if (di.full || di.unknown)
		have = false;
	if (r >= 0 && have && strcmp(type, "service") == 0)
		add_list(out, SA_EXEC_START, &conf.exec_start);
	if (r >= 0 && have && strcmp(type, "timer") == 0)
		add_list(out, SA_SCHEDULE, &conf.schedule);
	services_conf_free(&conf);
	dropins_free(&di);
	return r;
}

/* The .wants/.requires/.upholds directories with a link of U's name, in any unit dir. */
static void record_wanted_by(struct state *s, const struct unit *u, struct obj_set *out)
{
	struct budget b = {0};

	obj_list_touch(out, SA_WANTED_BY);
	for (size_t i = wants_lower(s, u->name);
	     i < s->nwants && strcmp(s->wants[i].name, u->name) == 0; i++)
		add_elem(out, SA_WANTED_BY, s->wants[i].wdir, &b);
	if (b.full)
		collect_problem(s->ctx, u->res.path, 0, -E2BIG,
		                "too many links wanting %s to record", u->name);
}

static int record_unit(struct state *s, struct unit *u, struct obj_set *out)
{
	const struct res *res = &u->res;
	const struct ufile *frag = NULL;
	const char *active = u->active;
	struct budget b = {0};
	int r;

	if (!res->masked && !res->err) {
		r = load_file(s, res->path, &frag);
		if (r < 0)
			return r;
	}
	if (!active && res->alias) {
		const struct unit *t = find_unit(s, s->nunits, res->base);

		active = t ? t->active : NULL;
	}
	obj_begin(out, u->name, strlen(u->name));
	obj_set_str(out, SA_UNIT_FILE, res->path);
	if (frag && !frag->err && frag->hash[0])
		obj_set_str(out, SA_HASH, frag->hash);
	obj_set_str(out, SA_ENABLED, unit_state(s, u, frag));
	obj_list_touch(out, SA_ALIASES);
	if (!via_template(u) && !res->masked && !res->err) {
		size_t lo, hi;

		alias_range(s, u, &lo, &hi);
		for (size_t i = lo; i < hi; i++)
			if (s->aliases[i] != u)
				add_elem(out, SA_ALIASES, s->aliases[i]->name, &b);
	}
	if (!res->masked) {
		record_wanted_by(s, u, out);
		r = record_config(s, u, frag, out);
		if (r < 0) {
			obj_abort(out);
			return r;
		}
	}
	if (active)
		obj_set_str(out, SA_ACTIVE, active);
	r = obj_end(out);
	if (r < 0 && r != -ENOMEM) {
		collect_problem(s->ctx, res->path, 0, r, "cannot record unit %s", u->name);
		r = 0;
	}
	return r;
}

/* ---- the running manager ---- */

static int on_unit_state(void *userdata, const char *name, const char *active, const char *sub)
{
	struct state *s = userdata;
	struct unit *u = find_unit(s, s->nunits, name);

	if (!u || u->active)
		return 0;
	return asprintf(&u->active, "%.64s/%.64s", active, sub) < 0 ? (u->active = NULL, -ENOMEM)
	                                                            : 0;
}

static int ask_manager(struct state *s)
{
	const char *where = "systemd";
	int r = services_bus_list(on_unit_state, s, &where);

	if (r == -ENOMEM)
		return r;
	if (r < 0 && r != -EHOSTDOWN)
		collect_problem(s->ctx, where, 0, r, "cannot ask systemd for unit states");
	return 0;
}

/* ---- putting it together ---- */

/* Adds the instances that *.wants/ links enable and no unit dir names, from their templates. */
static int add_instances(struct state *s)
{
	size_t sorted = s->nunits;
	int r = 0;

	for (size_t i = 0; i < s->nwants && r >= 0; i++) {
		char tmpl[UNIT_NAME_MAX + 1];
		struct unit *t, *u;
		size_t ti;

		if ((i && strcmp(s->wants[i - 1].name, s->wants[i].name) == 0) ||
		    !services_instance_of(s->wants[i].name, tmpl, sizeof(tmpl)) ||
		    find_unit(s, sorted, s->wants[i].name) || !(t = find_unit(s, sorted, tmpl)))
			continue;
		ti = (size_t)(t - s->units);
		r = add_unit(s, s->wants[i].name, -1, NULL);
		if (r < 0 || s->too_many_units)
			break;
		t = &s->units[ti];
		u = &s->units[s->nunits - 1];
		u->res = t->res;
		u->res.path = strdup(t->res.path);
		if (!u->res.path)
			return -ENOMEM;
		u->res.base =
		        strrchr(u->res.path, '/') ? strrchr(u->res.path, '/') + 1 : u->res.path;
	}
	if (s->nunits > 1)
		qsort(s->units, s->nunits, sizeof(*s->units), cmp_unit);
	return r;
}

static void state_free(struct state *s)
{
	for (unsigned i = 0; i < NDIRS; i++)
		rootfs_names_free(s->dirs[i].names, s->dirs[i].n);
	for (size_t i = 0; i < s->nunits; i++) {
		free(s->units[i].name);
		free(s->units[i].res.path);
		free(s->units[i].active);
	}
	free(s->units);
	for (size_t i = 0; i < s->nwants; i++) {
		free(s->wants[i].name);
		free(s->wants[i].wdir);
	}
	free(s->wants);
	free(s->aliases);
	for (size_t i = 0; i < s->capfiles; i++) {
		if (!s->files[i])
			continue;
		services_conf_free(&s->files[i]->conf);
		free(s->files[i]->path);
		free(s->files[i]);
	}
	free(s->files);
}

static int collect(struct state *s, struct obj_set *out)
{
	size_t n = 0;
	int r;

	for (unsigned i = 0; i < NDIRS; i++) {
		r = scan_dir(s, i);
		if (r < 0)
			return r;
	}
	if (s->too_many_units)
		collect_problem(s->ctx, "/etc/systemd/system", 0, -E2BIG,
		                "more than %d unit files, ignoring the rest", SERVICES_MAX_UNITS);
	if (s->too_many_wants)
		collect_problem(s->ctx, "/etc/systemd/system", 0, -E2BIG,
		                "more than %d enablement links, ignoring the rest",
		                SERVICES_MAX_UNITS);

	/* the first unit dir that has a name supplies it */
	if (s->nunits > 1)
		qsort(s->units, s->nunits, sizeof(*s->units), cmp_unit);
	for (size_t i = 0; i < s->nunits; i++) {
		if (n && strcmp(s->units[n - 1].name, s->units[i].name) == 0) {
			free(s->units[i].name);
			continue;
		}
		s->units[n++] = s->units[i];
	}
	s->nunits = n;
	/* of links with one name in directories of one name, the best ranked one counts */
	if (s->nwants > 1)
		qsort(s->wants, s->nwants, sizeof(*s->wants), cmp_wlink);
	n = 0;
	for (size_t i = 0; i < s->nwants; i++) {
		if (n && strcmp(s->wants[n - 1].name, s->wants[i].name) == 0 &&
		    strcmp(s->wants[n - 1].wdir, s->wants[i].wdir) == 0) {
			free(s->wants[i].name);
			free(s->wants[i].wdir);
			continue;
		}
		s->wants[n++] = s->wants[i];
	}
	s->nwants = n;

	for (size_t i = 0; i < s->nunits; i++) {
		r = resolve(s, &s->units[i]);
		if (r < 0)
			return r;
	}
	r = add_instances(s);
	if (r == 0)
		r = index_aliases(s);
	if (r == 0 && s->ctx->live)
		r = ask_manager(s);
	for (size_t i = 0; i < s->nunits && r >= 0; i++)
		r = record_unit(s, &s->units[i], out);
	return r;
}

/*
 * One record per unit name in the search path, plus the instances that
 * enablement links name: unit_file (the fragment in force, "/dev/null"
 * when masked), hash, enabled (systemctl is-enabled's word: enabled,
 * enabled-runtime, linked, linked-runtime, alias, masked, masked-runtime,
 * static, indirect, disabled, generated, transient, or bad when the
 * fragment cannot be resolved or read), dropins ("PATH sha256:hex"),
 * exec_start (services) and schedule (timers), both absent when a drop-in
 * in force cannot be read or listed, aliases, wanted_by (the
 * "TARGET.wants" directories, .requires and .upholds too, with a link of
 * the unit's name in any unit dir: vendor links start a unit at boot as
 * well, though systemctl calls it disabled), and active when the root is
 * the running system and its systemd answers. Masked units have neither
 * dropins nor wanted_by. At most SERVICES_MAX_PROBLEMS malformed lines
 * are reported per file.
 */
int collect_services(const struct collect_ctx *ctx, struct obj_set *out)
{
	struct state s = {.ctx = ctx};
	int r = collect(&s, out);

	state_free(&s);
	obj_set_sort(out);
	return r;
}
