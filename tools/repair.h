/* repair.h -- couponqctl's repair commands: reconcile, rebuild. */
#ifndef COUPONQ_REPAIR_H
#define COUPONQ_REPAIR_H

#include <stddef.h>

#include "tool.h"

extern const tool_cmd_t repair_cmds[];
extern const size_t repair_ncmds;

#endif
