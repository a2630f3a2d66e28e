/* instance_id.h -- the check of --instance-id, the worker's static group
 * membership id (KIP-345, librdkafka's group.instance.id).
 *
 * Empty means dynamic membership. Anything else must be what the broker
 * accepts as a group.instance.id (JoinGroupRequest's check): at most
 * INSTANCE_ID_MAX characters of [A-Za-z0-9._-], and not "." or "..".
 * Checked before the consumer exists, so a typo is a flag error (exit 2),
 * not a broker error at the first JoinGroup. Pure logic. */
#ifndef COUPONQ_INSTANCE_ID_H
#define COUPONQ_INSTANCE_ID_H

#include <stddef.h>

#define INSTANCE_ID_MAX 249

/* 0: id is valid, or NULL or "" (dynamic membership). -1: not, with why in
 * errstr ("249 characters at most, got 300"). */
int instance_id_check(const char *id, char *errstr, size_t n);

#endif
