/* sale.h -- couponqctl's commands that run a sale: create, adjust, status,
 * sync, close, archive. Each is a tool_cmd_t (flags, help, run). */
#ifndef COUPONQ_SALE_H
#define COUPONQ_SALE_H

#include <stddef.h>

#include "tool.h"

extern const tool_cmd_t sale_cmds[];
extern const size_t sale_ncmds;

#endif
