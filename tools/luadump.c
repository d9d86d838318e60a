/* luadump.c — build tool: compiles the host's own Lua library (the files in lua/)
 * to bytecode with the very liblua the binary links, so a Lua state loads
 * it without parsing (half of the work of a one-component render). The
 * chunk name is "=NAME", as when the source is loaded, so error positions
 * read the same. Usage: luadump NAME IN.lua OUT.luac */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

static int writer(lua_State *L, const void *p, size_t n, void *ud)
{
	(void)L;
	return fwrite(p, 1, n, ud) == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	char chunk[128];
	if (argc != 4) {
		fprintf(stderr, "usage: luadump NAME IN.lua OUT.luac\n");
		return 2;
	}
	lua_State *L = luaL_newstate();
	FILE *in = fopen(argv[2], "rb"), *out = NULL;
	static char buf[1 << 20];
	size_t len = in ? fread(buf, 1, sizeof buf, in) : 0;
	snprintf(chunk, sizeof chunk, "=%s", argv[1]);
	if (!L || !in || ferror(in) || len == sizeof buf) {
		fprintf(stderr, "luadump: cannot read %s\n", argv[2]);
		return 1;
	}
	if (luaL_loadbufferx(L, buf, len, chunk, "t") != LUA_OK) {
		fprintf(stderr, "luadump: %s\n", lua_tostring(L, -1));
		return 1;
	}
	if (!(out = fopen(argv[3], "wb")) || lua_dump(L, writer, out, 0) || fclose(out)) {
		fprintf(stderr, "luadump: cannot write %s\n", argv[3]);
		return 1;
	}
	fclose(in);
	lua_close(L);
	return 0;
}
