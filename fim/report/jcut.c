/* SPDX-License-Identifier: ISC */
/* Cuts a JSON event to a byte budget: its longest lists and texts first, marked as cut. */
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "fim/core/common.h"
#include "fim/core/jbytes.h"
#include "fim/report/jcut.h"
#include "fim/core/utf8.h"

#define FLAGS     (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define KEY_TEXT  64  /* longest member name that may be cut */
#define PATH_TEXT 160 /* longest dotted path of a member that may be cut */
#define DEPTH_MAX 8
#define STEPS_MAX 256 /* cuts per round; each removes at least half of what is missing */
#define BIG       128 /* bytes: a field smaller is cut only when nothing bigger is left */

/* Fields that are never cut, cut in the second round, in the third. */
static const char *const never[] = {"@timestamp",  "event",       "host",          "ecs",
                                    "log",         "fim_chain",   "fim.object",    "fim.severity",
                                    "fim.changed", "fim.summary", "fim.truncated", "fim.dropped"};
static const char *const later[] = {"fim.delta", "fim.suspicious", "fim.note", "message",
                                    "error.message"};
static const char *const names[] = {"file.path",    "user.name", "group.name",
                                    "service.name", "fim.rule",  "fim.source"};

/* One member that may be cut. */
struct cand {
	json_t *parent;
	char key[KEY_TEXT];
	char path[PATH_TEXT];
	size_t size; /* dumped bytes, a KEY_hex sibling's included */
};

static bool under(const char *path, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(list[i]);
		if (strncmp(path, list[i], k) == 0 && (path[k] == '\0' || path[k] == '.'))
			return true;
	}
	return false;
}

/* The round from which PATH may be cut; 0 for never. */
static int round_of(const char *path)
{
	if (under(path, never, ARRAY_SIZE(never)))
		return 0;
	/* the object's name goes last: without it the rest means nothing */
	if (strcmp(path, "fim.id") == 0)
		return 4;
	if (under(path, names, ARRAY_SIZE(names)))
		return 3;
	if (under(path, later, ARRAY_SIZE(later)))
		return 2;
	return 1;
}

/* Bytes of the text at PATH that are never cut. */
static size_t floor_of(const char *path)
{
	return strcmp(path, "fim.id") == 0 ? JCUT_ID_KEEP : 0;
}

static size_t dsize(const json_t *j)
{
	return json_dumpb(j, NULL, 0, FLAGS | JSON_ENCODE_ANY);
}

/* OBJ[KEY "_hex"] when it is a string, else NULL. */
static json_t *hex_sibling(json_t *obj, const char *key)
{
	char k[KEY_TEXT + 8];
	json_t *h;

	snprintf(k, sizeof(k), "%s_hex", key);
	h = json_object_get(obj, k);
	return json_is_string(h) ? h : NULL;
}

static bool is_hex_of_sibling(json_t *obj, const char *key, size_t kl)
{
	char base[KEY_TEXT];

	if (kl <= 4 || strcmp(key + kl - 4, "_hex") != 0)
		return false;
	memcpy(base, key, kl - 4);
	base[kl - 4] = '\0';
	return json_object_get(obj, base) != NULL;
}

/* The largest and second largest members below OBJ (at PATH) that round
 * ROUND may cut and that still hold at least MIN bytes. */
static void largest(json_t *obj, const char *path, int round, size_t min, struct cand *best,
                    size_t *second, unsigned depth)
{
	const char *key;
	json_t *v;

	if (depth > DEPTH_MAX)
		return;
	json_object_foreach(obj, key, v)
	{
		char p[PATH_TEXT];
		size_t kl = strlen(key), size;
		int n = snprintf(p, sizeof(p), "%s%s%s", path, path[0] ? "." : "", key);
		int r;

		if (n < 0 || (size_t)n >= sizeof(p) || kl >= KEY_TEXT)
			continue;
		r = round_of(p);
		if (r == 0)
			continue;
		if (json_is_object(v)) {
			largest(v, p, round, min, best, second, depth + 1);
			continue;
		}
		if (r > round)
			continue;
		if (json_is_array(v) && json_array_size(v)) {
			size = dsize(v);
		} else if (json_is_string(v) && json_string_length(v) > floor_of(p) &&
		           !is_hex_of_sibling(obj, key, kl)) {
			json_t *h = hex_sibling(obj, key);
			if (h && json_string_length(h) / 2 <= floor_of(p))
				continue;
			size = dsize(v) + (h ? dsize(h) : 0);
		} else {
			continue;
		}
		if (size < min)
			continue;
		if (size > best->size) {
			*second = best->size;
			best->parent = obj;
			best->size = size;
			memcpy(best->key, key, kl + 1);
			memcpy(best->path, p, (size_t)n + 1);
		} else if (size > *second) {
			*second = size;
		}
	}
}

/* Drops elements from the end of ARR until NEED bytes are gone (or all);
 * returns how many. */
static size_t cut_list(json_t *arr, size_t need)
{
	size_t gone = 0, count = 0, n;

	while ((n = json_array_size(arr)) > 0 && gone < need) {
		gone += dsize(json_array_get(arr, n - 1)) + 1;
		json_array_remove(arr, n - 1);
		count++;
	}
	return count;
}

/* Decodes the first N bytes of the hex text X (a KEY_hex sibling, as jbytes_hex writes it) into
 * RAW; returns how many were decoded, fewer only when X is not hex. */
static size_t unhex(uint8_t *raw, size_t n, const char *x)
{
	size_t got = 0;

	sodium_hex2bin(raw, n, x, 2 * n, NULL, &got, NULL);
	return got;
}

/* Dumped bytes of RAW[0..n) as jbytes_set writes it: the text, and its hex
 * twin when the bytes are not UTF-8. */
static size_t pair_size(const uint8_t *raw, size_t n, bool hex)
{
	json_t *t = hex ? jbytes_new(raw, n) : json_stringn((const char *)raw, n);
	size_t size = t ? dsize(t) : 0;

	json_decref(t);
	if (hex && !utf8_valid(raw, n))
		size += 2 * n + 2;
	return size;
}

/* Keeps the start of the text OBJ[KEY] so that NEED bytes of its dumped
 * form are gone (a KEY_hex sibling is cut with it, from the exact bytes);
 * returns how many bytes of the text were dropped, 0 when out of memory. */
static size_t cut_text(json_t *obj, const char *key, size_t need, size_t min_keep)
{
	json_t *v = json_object_get(obj, key), *h = hex_sibling(obj, key);
	char k[KEY_TEXT + 8];
	uint8_t *raw;
	size_t len, keep, size, target;

	if (h) {
		const char *x = json_string_value(h);
		len = json_string_length(h) / 2;
		raw = malloc(len + 1);
		if (!raw)
			return 0;
		len = unhex(raw, len, x);
	} else {
		len = json_string_length(v);
		raw = malloc(len + 1);
		if (!raw)
			return 0;
		memcpy(raw, json_string_value(v), len);
	}
	size = pair_size(raw, len, h != NULL);
	target = size > need ? size - need : 0;
	/* as much as the budget allows, estimated then corrected */
	keep = size ? (size_t)((double)len * (double)target / (double)size) : 0;
	for (;;) {
		size_t now;

		if (keep < min_keep)
			keep = min_keep < len ? min_keep : len;
		/* a character is kept whole or not at all */
		while (!h && keep > 0 && keep < len && (raw[keep] & 0xc0) == 0x80)
			keep--;
		now = pair_size(raw, keep, h != NULL);
		if (now <= target || keep <= min_keep)
			break;
		/* every byte dropped takes at least one byte of text with it */
		keep = keep > now - target ? keep - (now - target) / (h ? 3 : 6) - 1 : 0;
	}
	snprintf(k, sizeof(k), "%s_hex", key);
	json_object_del(obj, k);
	if (h)
		jbytes_set(obj, key, raw, keep);
	else
		json_object_set_new(obj, key, json_stringn((const char *)raw, keep));
	free(raw);
	return len - keep;
}

static void note_dropped(json_t *dropped, const char *path, size_t count)
{
	json_int_t before = json_integer_value(json_object_get(dropped, path));

	json_object_set_new(dropped, path, json_integer(before + (json_int_t)count));
}

/* Everything but the base fields and what names the object goes. */
static void cut_all(json_t *ev)
{
	static const char *const base[] = {"@timestamp", "event", "host", "ecs", "log", "fim"};
	json_t *fim = json_object_get(ev, "fim"), *keep = json_object(), *v;
	const char *key;
	void *tmp;

	if (!keep)
		return;
	if ((v = json_object_get(fim, "object")))
		json_object_set(keep, "object", v);
	if ((v = json_object_get(fim, "severity")))
		json_object_set(keep, "severity", v);
	if ((v = hex_sibling(fim, "id"))) {
		uint8_t raw[JCUT_ID_KEEP];
		size_t n = json_string_length(v) / 2;
		const char *x = json_string_value(v);

		n = unhex(raw, n < sizeof(raw) ? n : sizeof(raw), x);
		jbytes_set(keep, "id", raw, n);
	} else if (json_is_string(v = json_object_get(fim, "id"))) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		if (n > JCUT_ID_KEEP) {
			n = JCUT_ID_KEEP;
			while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
				n--;
		}
		json_object_set_new(keep, "id", json_stringn(s, n));
	}
	json_object_set_new(keep, "truncated", json_true());
	json_object_set_new(keep, "dropped", json_string("*"));
	json_object_foreach_safe(ev, tmp, key, v)
	{
		bool mine = false;
		for (size_t i = 0; i < ARRAY_SIZE(base); i++)
			mine |= strcmp(key, base[i]) == 0;
		if (!mine)
			json_object_del(ev, key);
	}
	json_object_set_new(ev, "fim", keep);
}

char *jcut_dumps(json_t *ev, size_t max)
{
	json_t *fim, *dropped;
	char *s;
	size_t n;

	if (max < JCUT_FLOOR)
		max = JCUT_FLOOR;
	s = json_dumps(ev, FLAGS);
	if (!s || strlen(s) <= max)
		return s;
	fim = json_object_get(ev, "fim");
	if (!json_is_object(fim)) {
		fim = json_object();
		json_object_set_new(ev, "fim", fim);
	}
	dropped = json_object();
	json_object_set_new(fim, "truncated", json_true());
	json_object_set_new(fim, "dropped", dropped);
	/* Big fields first, by round; the small ones (a mode, a time) only when
	 * all the big ones are gone. */
	static const struct {
		int round;
		size_t min;
	} rounds[] = {{1, BIG}, {2, BIG}, {3, BIG}, {4, BIG}, {4, 1}};
	for (size_t ri = 0; ri < ARRAY_SIZE(rounds); ri++) {
		int round = rounds[ri].round;
		for (unsigned step = 0; step < STEPS_MAX; step++) {
			struct cand best = {0};
			size_t second = 0, need, cut, gone;
			json_t *v;

			free(s);
			s = json_dumps(ev, FLAGS);
			if (!s)
				return NULL;
			n = strlen(s);
			if (n <= max)
				return s;
			largest(ev, "", round, rounds[ri].min, &best, &second, 0);
			if (!best.parent)
				break;
			/* what is missing, and room for this cut's entry in fim.dropped */
			need = n - max + strlen(best.path) + 32;
			/* the longest down to the next longest, so long lists share what is left */
			cut = best.size - second;
			if (cut < need / 2 + 1)
				cut = need / 2 + 1;
			if (cut > need)
				cut = need;
			v = json_object_get(best.parent, best.key);
			gone = json_is_array(v)
			               ? cut_list(v, cut)
			               : cut_text(best.parent, best.key, cut, floor_of(best.path));
			if (!gone)
				break;
			note_dropped(dropped, best.path, gone);
		}
	}
	free(s);
	cut_all(ev);
	return json_dumps(ev, FLAGS);
}
