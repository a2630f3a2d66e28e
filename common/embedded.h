/* embedded.h -- files embedded at build time by cmake/embed.cmake, so the
 * binaries need no schemas/ directory at run time. */
#ifndef COUPONQ_EMBEDDED_H
#define COUPONQ_EMBEDDED_H

extern const char embedded_admit_lua[];   /* schemas/redis/admit.lua */
extern const char embedded_release_lua[]; /* schemas/redis/release.lua */
extern const char embedded_settle_lua[];  /* schemas/redis/settle.lua */
extern const char embedded_adjust_lua[];  /* schemas/redis/adjust.lua */
extern const char embedded_use_lua[];     /* schemas/redis/use.lua */

#endif
