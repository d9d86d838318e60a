/* cores.h — how many threads a piece of work gets: $OAMLUA_JOBS if set,
 * else the number of online CPUs, never more than one per `min_per_core`
 * units of work, at least 1 and at most `max`. */
#ifndef OAMLUA_CORES_H
#define OAMLUA_CORES_H

#include <stddef.h>

int oam_cores_for(size_t work, size_t min_per_core, int max);

#endif
