/* redeem.h -- couponqctl's redemption commands: vendor (create, show),
 * settle, use (adjust). Each is a tool_cmd_t (flags, help, run). */
#ifndef COUPONQ_REDEEM_H
#define COUPONQ_REDEEM_H

#include <stddef.h>

#include "tool.h"

extern const tool_cmd_t redeem_cmds[];
extern const size_t redeem_ncmds;

/* The test hook of `settle` (see redeem.c): with this variable set to
 * "after_lines", settle exits with this code just before COMMIT. */
#define REDEEM_CRASH_ENV  "COUPONQ_TEST_SETTLE_CRASH"
#define REDEEM_CRASH_EXIT 86

#endif
