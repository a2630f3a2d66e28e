/* replayer.h -- couponq-replay: re-applies events of the issue topic to
 * MySQL through the workers' sink (sink.h), lists the DLQ by reason, and
 * redrives DLQ entries to the main topic. One tool_cmd_t; replay.c is the
 * binary's main. */
#ifndef COUPONQ_REPLAYER_H
#define COUPONQ_REPLAYER_H

#include "tool.h"

extern const tool_cmd_t replayer_cmd;

#endif
