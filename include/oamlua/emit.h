/* emit.h — writing rendered objects: YAML stream, JSON v1 List, or names.
 *
 * Output is deterministic: map keys are ordered apiVersion, kind, metadata,
 * spec first at the top of an object, `name` first inside maps, then
 * alphabetically; strings that YAML would read as something else ("9999",
 * "true", "on", "") are quoted. Output is built in memory and written only
 * when complete, so a failing run writes nothing. */
#ifndef OAMLUA_EMIT_H
#define OAMLUA_EMIT_H

#include <stdio.h>
#include <lua.h>

enum oam_format { OAM_FMT_YAML, OAM_FMT_JSON, OAM_FMT_NAME };

struct oam_buf {
	char *data;
	size_t len, cap;
};

void oam_buf_release(struct oam_buf *b);
int oam_buf_add(struct oam_buf *b, const void *p, size_t n);
/* Writes the buffer to f and flushes; -1 on a write error. */
int oam_buf_write(const struct oam_buf *b, FILE *f);

/* Emits every object of the Lua list at `idx` into `out`. Returns 0, or -1
 * with a message (naming the object and path of a bad value) in errbuf. */
int oam_emit(lua_State *L, int idx, enum oam_format fmt, struct oam_buf *out, char *errbuf, size_t errsize);
/* YAML with owner comments: the function at owners_fn maps an object to
 * (table path -> module, emitting module); see --show-owners. */
int oam_emit_owners(lua_State *L, int idx, int owners_fn, struct oam_buf *out, char *errbuf, size_t errsize);
/* Emits one Lua value (any shape) as a YAML document. */
int oam_emit_value_yaml(lua_State *L, int idx, struct oam_buf *out, char *errbuf, size_t errsize);

int oam_parse_format(const char *s, enum oam_format *fmt);

/* One Lua value (an object) as a jansson value, keys in the same order as
 * the YAML output; NULL with a message naming the bad path in errbuf.
 * The caller owns the result (json_decref). */
struct json_t;
struct json_t *oam_lua_to_json(lua_State *L, int idx, char *errbuf, size_t errsize);

#endif
