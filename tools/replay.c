/* replay.c -- couponq-replay: re-apply issue events to MySQL, inspect and
 * redrive the DLQ. The work is in replayer.c. */
#include "replayer.h"
#include "tool.h"

int main(int argc, char **argv)
{
    return tool_main1("couponq-replay", &replayer_cmd, argc, argv);
}
