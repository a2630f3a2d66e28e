/* ctl.c -- couponqctl: run a sale from creation to archive, and repair it.
 * The commands live in sale.c (create .. archive), repair.c (reconcile,
 * rebuild, fence), redeem.c (vendor, settle, use) and token.c; tool.c
 * parses flags, opens connections and prints results. */
#include <string.h>

#include "redeem.h"
#include "repair.h"
#include "sale.h"
#include "token.h"
#include "tool.h"

#define CTL_MAX_CMDS 16

int main(int argc, char **argv)
{
    tool_cmd_t cmds[CTL_MAX_CMDS];
    size_t n = 0;

    memcpy(cmds, sale_cmds, sale_ncmds * sizeof(cmds[0]));
    n += sale_ncmds;
    memcpy(cmds + n, repair_cmds, repair_ncmds * sizeof(cmds[0]));
    n += repair_ncmds;
    memcpy(cmds + n, redeem_cmds, redeem_ncmds * sizeof(cmds[0]));
    n += redeem_ncmds;
    memcpy(cmds + n, token_cmds, token_ncmds * sizeof(cmds[0]));
    n += token_ncmds;
    return tool_main("couponqctl", "Operate couponq flash sales.", cmds, n,
                     argc, argv);
}
