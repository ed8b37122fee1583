/* SPDX-License-Identifier: ISC */
/* libFuzzer target: decoding stored record values, then formatting and re-encoding them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fim/core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file_rec rec, again;
	struct buf out = {0};
	char text[512];

	if (rec_decode(data, size, &rec) != 0)
		return 0;
	for (unsigned a = 0; a < ATTR__FILE_MAX; a++)
		rec_format_attr(&rec, a, text, sizeof(text));
	/* What decodes must encode and decode to the same record. */
	if (rec_encode(&rec, &out) == 0) {
		if (rec_decode(out.p, out.n, &again) != 0 ||
		    rec_diff(&rec, &again, ATTRS_ALL_FILE, 0, false) != 0)
			abort();
	}
	buf_free(&out);
	return 0;
}
