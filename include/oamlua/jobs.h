/* jobs.h — rendering on several cores.
 *
 * Lua states are single-threaded, so each extra job gets a Lua state of its
 * own with the same modules loaded, renders a contiguous slice of the
 * instances and writes it into a buffer of its own; the slices are joined in
 * order, so the output is byte for byte the same as with one job. */
#ifndef OAMLUA_JOBS_H
#define OAMLUA_JOBS_H

#include "oamlua/cli.h"

/* How many jobs to use for n instances: $OAMLUA_JOBS if set, else the
 * number of online CPUs, never more than one per 200 instances. */
int oam_jobs_count(size_t ninstances);

/* Renders every checked instance of the session and emits them (YAML or
 * names) into `out`. Findings go to the session's diags, in instance order.
 * Returns 0 or -1. */
int oam_render_jobs(struct oam_session *s, enum oam_format fmt, int jobs, struct oam_buf *out);

#endif
