/* SPDX-License-Identifier: ISC */
/* What the commands share with fim check: problems said on stderr, the progress line. */
#pragma once

#include "fim/cli.h"
#include "fim/engine/check.h"
#include "fim/engine/objects.h"
#include "fim/progress.h"

/* Says each problem a collector found as "fim: warning: PATH:LINE: MSG". */
extern const struct objects_say cmd_say_problems;

/*
 * Starts the "fim check" progress line (stderr a terminal, not -q), sized by
 * the baseline S's own counts, and points A's file_done/tree_done at PG.
 * Every command that runs the check engine in front of an operator shows it.
 */
void cmd_check_progress(struct check_args *a, struct progress *pg, struct store *s,
                        const struct fim_opts *o);
