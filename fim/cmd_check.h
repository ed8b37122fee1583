/* SPDX-License-Identifier: ISC */
/* What the commands share with fim check: collectors' problems said on stderr. */
#pragma once

#include "fim/engine/objects.h"

/* Says each problem a collector found as "fim: warning: PATH:LINE: MSG". */
extern const struct objects_say cmd_say_problems;
