/* diff.h — what `oamlua diff` shows: live objects as YAML (from JSON) and a
 * unified diff of two texts. */
#ifndef OAMLUA_DIFF_H
#define OAMLUA_DIFF_H

#include <jansson.h>

#include "oamlua/emit.h"

/* Appends a JSON value as block YAML: at the top of an object apiVersion,
 * kind, metadata, spec, status come first, every other map is sorted by key;
 * strings are quoted only when YAML would read them as something else;
 * multi-line strings use literal blocks. Returns 0 or -1 (out of memory). */
int oam_json_yaml(const json_t *v, struct oam_buf *out);

/* Appends the unified diff (3 lines of context, GNU diff's hunk format) of
 * texts a and b under the labels given. Returns 1 when they differ, 0 when
 * they are equal, -1 on out of memory. */
int oam_diff_unified(const char *a, const char *b, const char *label_a, const char *label_b, struct oam_buf *out);

#endif
