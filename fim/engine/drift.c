/* SPDX-License-Identifier: ISC */
/* The one drift decision for files, shared by fim check and the watcher's re-read. */
#include "fim/engine/drift.h"
#include "baseline/files.h"

bool drift_selects(const struct policy *p, const char *path, size_t len)
{
	const struct policy_rule *rule = policy_match(p, path, len);

	return rule && !(rule->flags & RULE_EXCLUDE);
}

enum drift_verdict drift_file(const struct policy *old, const struct file_rec *base,
                              const struct file_rec *rec, bool prefix_same, struct drift *d)
{
	const struct policy_rule *rule = d->rule;

	if (base) {
		unsigned flags = (rule->flags & RULE_GROWING) ? DIFF_GROWING : 0;
		/* A file turned into a FIFO is drift whatever the rule lists. */
		attrset_t mask = rule->attrs | ATTR_BIT(ATTR_TYPE);

		d->changed = rec_diff(base, rec, mask, flags, prefix_same);
		/* Content the baseline could not read is not "unchanged". */
		if ((base->flags & (REC_UNREADABLE | REC_CHANGED_WHILE_READ)) &&
		    (rec->attrs & ~base->attrs & rule->attrs & ATTR_BIT(ATTR_HASH))) {
			d->changed |= ATTR_BIT(ATTR_HASH);
			d->note = "the baseline could not read this file's content";
		}
		if (!d->changed)
			return DRIFT_NONE;
		d->action = DRIFT_CHANGED;
		d->before = base;
		d->after = rec;
		return DRIFT_REPORT;
	}
	if (old && !drift_selects(old, (const char *)d->id.p, d->id.n))
		return DRIFT_NEWLY_IN_SCOPE;
	d->action = DRIFT_ADDED;
	d->after = rec;
	return DRIFT_REPORT;
}

bool drift_identity_same(const struct file_rec *base, const struct stat *st)
{
	attrset_t need = ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) |
	                 ATTR_BIT(ATTR_CTIME);
	struct file_rec now = {0};

	if ((base->attrs & need) != need)
		return false;
	files_from_stat(st, need, &now);
	return base->inode == now.inode && base->size == now.size &&
	       base->mtime_ns == now.mtime_ns && base->ctime_ns == now.ctime_ns;
}
