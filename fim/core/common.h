/* SPDX-License-Identifier: ISC */
/* Small shared vocabulary: byte spans, cleanup helpers. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* A span of bytes that may contain any value (paths, xattr values). */
struct bytes {
	const uint8_t *p;
	size_t n;
};

#define BYTES_STR(s)  ((struct bytes){(const uint8_t *)(s), strlen(s)})
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hard limits on what an input can make fim allocate or recurse into. */
#define FIM_MAX_DEPTH        4096       /* directory nesting below a root */
#define FIM_MAX_NAME         255        /* one path component */
#define FIM_MAX_XATTR_LIST   65536      /* flistxattr buffer */
#define FIM_MAX_XATTR_VALUE  65536      /* one xattr value */
#define FIM_MAX_POLICY_DEPTH 16         /* include nesting */
#define FIM_MAX_POLICY_SIZE  (4u << 20) /* one policy file */

static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Take ownership out of a cleanup-managed variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})
