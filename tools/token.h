/* token.h -- couponqctl token: mints an HS256 token (common/jose.c) with
 * a key of a JWKS file, for development, tests and operators. */
#ifndef COUPONQ_TOOLS_TOKEN_H
#define COUPONQ_TOOLS_TOKEN_H

#include <stddef.h>

#include "tool.h"

extern const tool_cmd_t token_cmds[];
extern const size_t token_ncmds;

#endif
