/* lconv.h — the one conversion pair between value trees and Lua values.
 *
 * Integers stay integers, YAML null becomes oam.null, empty sequences come
 * back as arrays (tables with the oam.array metatable). The reverse direction
 * rejects functions, userdata, cycles and non-string map keys, naming the path
 * of the bad value ("spec.ports[2].name"). */
#ifndef OAMLUA_LCONV_H
#define OAMLUA_LCONV_H

#include <lua.h>
#include "oamlua/tree.h"

/* Registers the array metatable, the view metatable and the unview function
 * (from the host library at the top of the stack). Called once at setup. */
void oam_lconv_register(lua_State *L, int host_idx);

void oam_lua_push_node(lua_State *L, const struct oam_node *n);
/* Pushes an empty array table. */
void oam_lua_new_array(lua_State *L, int narr);
/* If the value at idx is a read-only view, replaces it by its real table. */
void oam_lua_unview(lua_State *L, int idx);
int oam_lua_is_array(lua_State *L, int idx, size_t *len);

/* Lua value → tree (allocated in `a`). On failure returns NULL and writes a
 * message naming the path of the bad value to errbuf. */
struct oam_node *oam_lua_to_node(lua_State *L, int idx, struct oam_arena *a, char *errbuf, size_t errsize);

#endif
