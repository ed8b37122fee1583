/* SPDX-License-Identifier: ISC */
/* Policy-driven tree walk: sorted names, openat from the parent fd, no symlinks followed. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "fim/core/common.h"
#include "baseline/walk.h"

#ifndef BINFMTFS_MAGIC
#define BINFMTFS_MAGIC 0x42494e4d
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC 0x65735543
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef RPC_PIPEFS_MAGIC
#define RPC_PIPEFS_MAGIC 0x67596969
#endif

/* Kernel views, not files: their content changes by itself and reading
 * some of them has side effects. */
static const unsigned long pseudo_magics[] = {
        PROC_SUPER_MAGIC, SYSFS_MAGIC,    CGROUP_SUPER_MAGIC,  CGROUP2_SUPER_MAGIC,
        DEBUGFS_MAGIC,    TRACEFS_MAGIC,  SECURITYFS_MAGIC,    BPF_FS_MAGIC,
        PSTOREFS_MAGIC,   CONFIGFS_MAGIC, FUSECTL_SUPER_MAGIC, MQUEUE_MAGIC,
        NSFS_MAGIC,       BINFMTFS_MAGIC, DEVPTS_SUPER_MAGIC,  EFIVARFS_MAGIC,
        SELINUX_MAGIC,    SMACK_MAGIC,    AUTOFS_SUPER_MAGIC,  RPC_PIPEFS_MAGIC,
};

bool walk_is_pseudo_fs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(pseudo_magics); i++)
		if ((unsigned long)sfs.f_type == pseudo_magics[i])
			return true;
	return false;
}

static const struct {
	unsigned long magic;
	const char *name;
} fs_names[] = {
        {PROC_SUPER_MAGIC, "proc"},
        {SYSFS_MAGIC, "sysfs"},
        {CGROUP_SUPER_MAGIC, "cgroup"},
        {CGROUP2_SUPER_MAGIC, "cgroup2"},
        {DEBUGFS_MAGIC, "debugfs"},
        {TRACEFS_MAGIC, "tracefs"},
        {SECURITYFS_MAGIC, "securityfs"},
        {BPF_FS_MAGIC, "bpf"},
        {PSTOREFS_MAGIC, "pstore"},
        {CONFIGFS_MAGIC, "configfs"},
        {FUSECTL_SUPER_MAGIC, "fusectl"},
        {MQUEUE_MAGIC, "mqueue"},
        {NSFS_MAGIC, "nsfs"},
        {BINFMTFS_MAGIC, "binfmt_misc"},
        {DEVPTS_SUPER_MAGIC, "devpts"},
        {EFIVARFS_MAGIC, "efivarfs"},
        {SELINUX_MAGIC, "selinuxfs"},
        {SMACK_MAGIC, "smackfs"},
        {AUTOFS_SUPER_MAGIC, "autofs"},
        {RPC_PIPEFS_MAGIC, "rpc_pipefs"},
        {TMPFS_MAGIC, "tmpfs"},
        {RAMFS_MAGIC, "ramfs"},
        {EXT4_SUPER_MAGIC, "ext2/3/4"},
        {XFS_SUPER_MAGIC, "xfs"},
        {BTRFS_SUPER_MAGIC, "btrfs"},
        {OVERLAYFS_SUPER_MAGIC, "overlay"},
        {SQUASHFS_MAGIC, "squashfs"},
        {NFS_SUPER_MAGIC, "nfs"},
        {MSDOS_SUPER_MAGIC, "vfat"},
        {ISOFS_SUPER_MAGIC, "iso9660"},
        {0x65735546, "fuse"},
};

const char *walk_fs_name(long f_type, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_names); i++)
		if ((unsigned long)f_type == fs_names[i].magic) {
			snprintf(buf, size, "%s", fs_names[i].name);
			return buf;
		}
	snprintf(buf, size, "0x%lx", (unsigned long)f_type);
	return buf;
}

/* The id of the mount FD is on, or 0 when the kernel cannot say: a bind
 * mount of a directory of the same file system keeps st_dev. */
static uint64_t mount_id(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

/* Names of one directory, in one arena, sorted bytewise. */
struct dirlist {
	char *arena;
	size_t used, cap;
	struct dent {
		size_t off;
		unsigned char type;
	} * v;
	size_t n, vcap;
};

struct walk {
	const struct policy *policy;
	const struct walk_ops *ops;
	void *ctx;
	char *path;
	size_t len, cap;
};

static void dirlist_free(struct dirlist *l)
{
	free(l->arena);
	free(l->v);
}

static int dirlist_add(struct dirlist *l, const char *name, unsigned char type)
{
	size_t nlen = strlen(name) + 1;

	if (l->used + nlen > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		while (cap < l->used + nlen)
			cap *= 2;
		char *a = realloc(l->arena, cap);
		if (!a)
			return -ENOMEM;
		l->arena = a;
		l->cap = cap;
	}
	if (l->n == l->vcap) {
		size_t cap = l->vcap ? l->vcap * 2 : 64;
		struct dent *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->vcap = cap;
	}
	memcpy(l->arena + l->used, name, nlen);
	l->v[l->n++] = (struct dent){l->used, type};
	l->used += nlen;
	return 0;
}

static int dent_cmp(const void *a, const void *b, void *arena)
{
	return strcmp((const char *)arena + ((const struct dent *)a)->off,
	              (const char *)arena + ((const struct dent *)b)->off);
}

/* Reads all names of directory FD (the fd itself stays open and usable). */
static int dirlist_read(int fd, struct dirlist *l)
{
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = dirlist_add(l, de->d_name, de->d_type);
		if (r < 0)
			break;
	}
	closedir(d);
	if (l->n > 1)
		qsort_r(l->v, l->n, sizeof(*l->v), dent_cmp, l->arena);
	return r;
}

static int path_push(struct walk *w, const char *name, size_t nlen, size_t *saved)
{
	size_t need = w->len + 1 + nlen + 1;

	*saved = w->len;
	if (need > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < need)
			cap *= 2;
		char *p = realloc(w->path, cap);
		if (!p)
			return -ENOMEM;
		w->path = p;
		w->cap = cap;
	}
	if (w->len != 1) /* the root is "/" already */
		w->path[w->len++] = '/';
	memcpy(w->path + w->len, name, nlen);
	w->len += nlen;
	w->path[w->len] = '\0';
	return 0;
}

static int open_dir_at(int dirfd, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	int fd = openat(dirfd, name, flags | O_NOATIME);

	/* O_NOATIME is refused for files we do not own unless privileged. */
	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd < 0 ? -errno : fd;
}

static int walk_dir(struct walk *w, struct walk_entry *dir, unsigned depth);

/* Decides, stats and emits one child of DIR; descends into it if asked. */
static int walk_child(struct walk *w, struct walk_entry *dir, const char *name, unsigned char dtype,
                      unsigned depth)
{
	struct walk_entry e = {
	        .name = name, .dirfd = dir->fd, .fd = -1, .pin = -1, .parent_user = dir->user};
	size_t saved;
	int r;

	e.name_len = strlen(name);
	r = path_push(w, name, e.name_len, &saved);
	if (r < 0)
		return r;
	e.path = w->path;
	e.path_len = w->len;
	e.rule = policy_match(w->policy, w->path, w->len);
	e.in_scope = e.rule && !(e.rule->flags & RULE_EXCLUDE);

	/* Cheap exits first: most of a tree is decided by name alone. */
	if (!e.in_scope && dtype != DT_DIR && dtype != DT_UNKNOWN)
		goto out;
	if (!e.in_scope && dtype == DT_DIR && !policy_descend(w->policy, w->path, w->len))
		goto out;

	/* A regular file to be read is pinned: its stat is the fstat of the
	 * very inode the collector will open, and no name is looked up twice. */
	if (e.in_scope && (dtype == DT_REG || dtype == DT_UNKNOWN)) {
		e.pin = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (e.pin >= 0 && fstat(e.pin, &e.st) < 0) {
			close(e.pin);
			e.pin = -1;
		}
	}
	if (e.pin < 0 && fstatat(dir->fd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
		e.err = -errno;
		if (e.err == -ENOENT) /* vanished since readdir: it is simply not there */
			goto out;
		if (!e.in_scope)
			goto out;
		r = w->ops->entry(w->ctx, &e);
		goto out;
	}
	if (S_ISDIR(e.st.st_mode))
		e.descend = policy_descend(w->policy, w->path, w->len);
	if (!e.in_scope && !e.descend)
		goto out;

	if (e.descend) {
		int fd = open_dir_at(dir->fd, name);
		if (fd == -ENOENT)
			goto out;
		if (fd < 0) {
			/* Its own metadata is still known; only what is below
			 * cannot be seen, and that is said, not guessed. */
			w->ops->error(w->ctx, w->path, w->len, fd);
			e.descend = false;
			r = w->ops->entry(w->ctx, &e);
			goto out;
		}
		e.fd = fd;
		/* Describe the directory we actually opened, not the name. */
		if (fstat(fd, &e.st) < 0 || !S_ISDIR(e.st.st_mode)) {
			e.err = -EIO;
			e.descend = false;
		}
		/* A mount point: say of what. A kernel view mounted here is
		 * an entry like any other (a new one is news), its content is
		 * not, and what the directory held is hidden. */
		e.mnt_id = e.descend ? mount_id(fd) : 0;
		if (e.descend && (e.st.st_dev != dir->st.st_dev ||
		                  (e.mnt_id && dir->mnt_id && e.mnt_id != dir->mnt_id))) {
			struct statfs sfs;

			e.fs_type = fstatfs(fd, &sfs) == 0 ? (long)sfs.f_type : -1;
			if (walk_is_pseudo_fs(fd)) {
				e.descend = false;
				e.hidden = true;
			}
		}
	}
	r = w->ops->entry(w->ctx, &e);
	if (r >= 0 && e.descend && e.fd >= 0)
		r = walk_dir(w, &e, depth + 1);
	else if (r < 0 && e.user && w->ops->drop)
		w->ops->drop(w->ctx, &e);
out:
	if (e.fd >= 0)
		close(e.fd);
	if (e.pin >= 0)
		close(e.pin);
	w->len = saved;
	w->path[w->len] = '\0';
	return r;
}

static int walk_dir(struct walk *w, struct walk_entry *dir, unsigned depth)
{
	struct dirlist l = {0};
	size_t base_len = w->len;
	int r;

	if (depth > FIM_MAX_DEPTH) {
		w->ops->error(w->ctx, w->path, w->len, -ELOOP);
		dir->path = w->path;
		return w->ops->leave ? w->ops->leave(w->ctx, dir) : 0;
	}
	r = dirlist_read(dir->fd, &l);
	if (r == -ENOMEM)
		goto done;
	if (r < 0)
		w->ops->error(w->ctx, w->path, w->len, r);
	r = 0;
	for (size_t i = 0; i < l.n && r >= 0; i++) {
		r = walk_child(w, dir, l.arena + l.v[i].off, l.v[i].type, depth);
		w->len = base_len;
	}
	if (r < 0 && w->ops->drop)
		w->ops->drop(w->ctx, dir);
	if (r >= 0 && w->ops->leave) {
		/* Children may have moved the path buffer. */
		dir->path = w->path;
		dir->path_len = w->len;
		r = w->ops->leave(w->ctx, dir);
	}
done:
	dirlist_free(&l);
	return r;
}

int walk_run(int rootfd, const struct policy *p, const struct walk_ops *ops, void *ctx)
{
	struct walk w = {.policy = p, .ops = ops, .ctx = ctx};
	struct walk_entry root = {.name = "", .dirfd = rootfd, .fd = rootfd, .pin = -1};
	int r;

	w.cap = 256;
	w.path = malloc(w.cap);
	if (!w.path)
		return -ENOMEM;
	strcpy(w.path, "/");
	w.len = 1;
	root.path = w.path;
	root.path_len = 1;
	root.rule = policy_match(p, "/", 1);
	root.in_scope = root.rule && !(root.rule->flags & RULE_EXCLUDE);
	root.descend = policy_descend(p, "/", 1);
	root.mnt_id = mount_id(rootfd);
	if (fstat(rootfd, &root.st) < 0)
		root.err = -errno;
	r = ops->entry(ctx, &root);
	if (r >= 0 && root.descend && !root.err)
		r = walk_dir(&w, &root, 1);
	else if (r < 0 && root.user && ops->drop)
		ops->drop(ctx, &root);
	free(w.path);
	return r;
}
