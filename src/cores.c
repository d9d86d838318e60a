/* cores.c — see include/oamlua/cores.h. */
#include "oamlua/cores.h"

#include <stdlib.h>
#include <unistd.h>

int oam_cores_for(size_t work, size_t min_per_core, int max)
{
	const char *env = getenv("OAMLUA_JOBS");
	long cpus = env && *env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
	long by_size = (long)(work / (min_per_core ? min_per_core : 1));
	long n = cpus < by_size ? cpus : by_size;
	return n < 1 ? 1 : n > max ? max : (int)n;
}
