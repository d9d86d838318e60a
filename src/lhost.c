/* lhost.c — Lua state setup, sandbox, limits, and the protected call door.
 * The only file that calls lua_pcall. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "oamlua/file.h"
#include "oamlua/lconv.h"
#include "oamlua/lhost.h"

#include "luasrc.inc"

#define HOOK_STEP 1000

static const char HOST_KEY = 'h';   /* registry key: the host library table */

static struct oam_lua *host_of(lua_State *L)
{
	return *(struct oam_lua **)lua_getextraspace(L);
}

/* Small blocks come from size-class free lists carved out of large slabs:
 * rendering makes millions of small tables and strings, and Lua always tells
 * the allocator the size of the block it frees, so no header is needed.
 * Sanitizer builds use plain malloc so that every block stays checkable. */
#define POOL_GRAIN 16
#define POOL_MAX 512
#define POOL_SLAB (256u << 10)

struct pool_free {
	struct pool_free *next;
};

struct pool {
	struct pool_free *free[POOL_MAX / POOL_GRAIN + 1];
	char *cur, *end;
	void **slabs;
	size_t nslabs, capslabs;
};

static struct pool *pool_of(struct oam_lua *h)
{
	return h->pool;
}

static void *pool_alloc(struct pool *p, size_t size)
{
	size_t cls = (size + POOL_GRAIN - 1) / POOL_GRAIN;
	struct pool_free *f = p->free[cls];
	if (f) {
		p->free[cls] = f->next;
		return f;
	}
	size_t bytes = cls * POOL_GRAIN;
	if ((size_t)(p->end - p->cur) < bytes) {
		if (p->nslabs == p->capslabs) {
			size_t cap = p->capslabs ? p->capslabs * 2 : 64;
			void **v = realloc(p->slabs, cap * sizeof *v);
			if (!v)
				return NULL;
			p->slabs = v;
			p->capslabs = cap;
		}
		char *slab = malloc(POOL_SLAB);
		if (!slab)
			return NULL;
		p->slabs[p->nslabs++] = slab;
		p->cur = slab;
		p->end = slab + POOL_SLAB;
	}
	void *r = p->cur;
	p->cur += bytes;
	return r;
}

static void pool_free(struct pool *p, void *ptr, size_t size)
{
	size_t cls = (size + POOL_GRAIN - 1) / POOL_GRAIN;
	struct pool_free *f = ptr;
	f->next = p->free[cls];
	p->free[cls] = f;
}

static void pool_release(struct pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nslabs; i++)
		free(p->slabs[i]);
	free(p->slabs);
	free(p);
}

static void *raw_realloc(struct oam_lua *h, void *ptr, size_t osize, size_t nsize)
{
	struct pool *p = pool_of(h);
	if (!p)
		return nsize ? realloc(ptr, nsize) : (free(ptr), NULL);
	int osmall = ptr && osize <= POOL_MAX, nsmall = nsize <= POOL_MAX;
	if (nsize == 0) {
		if (osmall)
			pool_free(p, ptr, osize);
		else
			free(ptr);
		return NULL;
	}
	if (!ptr)
		return nsmall ? pool_alloc(p, nsize) : malloc(nsize);
	if (osmall && nsmall && (osize + POOL_GRAIN - 1) / POOL_GRAIN == (nsize + POOL_GRAIN - 1) / POOL_GRAIN)
		return ptr;
	if (!osmall && !nsmall)
		return realloc(ptr, nsize);
	void *n = nsmall ? pool_alloc(p, nsize) : malloc(nsize);
	if (!n)
		return NULL;
	memcpy(n, ptr, osize < nsize ? osize : nsize);
	if (osmall)
		pool_free(p, ptr, osize);
	else
		free(ptr);
	return n;
}

/* The allocator keeps the books. While a module call is running, growth past
 * the per-call cap fails, and stays failed (sticky) for the rest of the call
 * once hit, so a module cannot catch the error and carry on allocating. */
static void *l_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct oam_lua *h = ud;
	if (!ptr)
		osize = 0;      /* osize is a type tag when ptr is NULL */
	if (nsize == 0) {
		raw_realloc(h, ptr, osize, 0);
		h->mem_used -= osize;
		return NULL;
	}
	if (nsize > osize) {
		if (h->fail_alloc_at && ++h->nalloc == h->fail_alloc_at)
			return NULL;
		if (h->in_call && (h->mem_hit ||
				   h->mem_used + (nsize - osize) > h->mem_call_base + h->mem_call_limit)) {
			h->mem_hit = 1;
			return NULL;
		}
	}
	void *p = raw_realloc(h, ptr, osize, nsize);
	if (!p)
		return NULL;
	h->mem_used = h->mem_used - osize + nsize;
	if (h->mem_used > h->mem_peak)
		h->mem_peak = h->mem_used;
	return p;
}

static void record_position(lua_State *L, struct oam_lua *h)
{
	lua_Debug ar;
	for (int level = 0; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar))
			continue;
		if (ar.source[0] == '@' && ar.currentline > 0) {
			oam_strlcpy(h->err_file, ar.source + 1, sizeof h->err_file);
			h->err_line = ar.currentline;
			return;
		}
	}
}

/* OAMLUA_PROFILE=1: a sampling profile of module code, one sample per hook
 * (every HOOK_STEP instructions), printed at exit by source line. */
struct prof_slot {
	char where[120];
	long count;
};
static struct prof_slot *prof;
static size_t nprof;

static int prof_cmp(const void *a, const void *b)
{
	long x = ((const struct prof_slot *)a)->count, y = ((const struct prof_slot *)b)->count;
	return x < y ? 1 : x > y ? -1 : 0;
}

static void prof_report(void)
{
	long total = 0;
	qsort(prof, nprof, sizeof *prof, prof_cmp);
	for (size_t i = 0; i < nprof; i++)
		total += prof[i].count;
	fprintf(stderr, "oamlua: profile: %ld samples of 20 VM instructions\n", total);
	for (size_t i = 0; i < nprof && i < 40; i++)
		fprintf(stderr, "  %6.2f%%  %s\n", 100.0 * (double)prof[i].count / (double)(total ? total : 1), prof[i].where);
}

static void prof_sample(lua_State *L)
{
	lua_Debug ar;
	char where[120];
	if (!lua_getstack(L, 0, &ar) || !lua_getinfo(L, "Sln", &ar))
		return;
	snprintf(where, sizeof where, "%s:%d (%s)", ar.short_src, ar.currentline, ar.name ? ar.name : "?");
	for (size_t i = 0; i < nprof; i++)
		if (!strcmp(prof[i].where, where)) {
			prof[i].count++;
			return;
		}
	struct prof_slot *p = realloc(prof, (nprof + 1) * sizeof *p);
	if (!p)
		return;
	if (!prof)
		atexit(prof_report);
	prof = p;
	snprintf(prof[nprof].where, sizeof prof[nprof].where, "%s", where);
	prof[nprof++].count = 1;
}

static int profiling = -1;

static void l_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct oam_lua *h = host_of(L);
	if (profiling < 0)
		profiling = getenv("OAMLUA_PROFILE") != NULL;
	if (profiling)
		prof_sample(L);
	h->insn_used += profiling ? 20 : HOOK_STEP;
	if (h->insn_hit || h->insn_used > h->insn_budget) {
		if (!h->insn_hit)
			record_position(L, h);
		h->insn_hit = 1;
		luaL_error(L, "instruction budget exceeded");
	}
}

/* Message handler: remembers where in module code the error was raised and
 * the traceback, and strips the "file:line: " prefix we report separately. */
static int l_msgh(lua_State *L)
{
	struct oam_lua *h = host_of(L);
	const char *msg = lua_tostring(L, 1);
	h->err_id[0] = h->err_hint[0] = '\0';
	if (!msg && lua_type(L, 1) == LUA_TTABLE) {
		/* A structured error from the host library: { oam_id, message, hint } */
		lua_getfield(L, 1, "oam_id");
		lua_getfield(L, 1, "hint");
		lua_getfield(L, 1, "message");
		if (lua_type(L, -3) == LUA_TSTRING)
			oam_strlcpy(h->err_id, lua_tostring(L, -3), sizeof h->err_id);
		if (lua_type(L, -2) == LUA_TSTRING)
			oam_strlcpy(h->err_hint, lua_tostring(L, -2), sizeof h->err_hint);
		msg = lua_tostring(L, -1);
	}
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	if (!h->insn_hit) {
		h->err_file[0] = '\0';
		h->err_line = 0;
		record_position(L, h);
	}
	luaL_traceback(L, L, NULL, 1);
	oam_strlcpy(h->traceback, lua_tostring(L, -1), sizeof h->traceback);
	lua_pop(L, 1);
	/* "path:line: text" → "text" when path:line is the position we report. */
	if (h->err_file[0]) {
		char prefix[300];
		snprintf(prefix, sizeof prefix, "%s:%d: ", h->err_file, h->err_line);
		size_t pl = strlen(prefix);
		if (!strncmp(msg, prefix, pl))
			msg += pl;
	}
	lua_pushstring(L, msg);
	return 1;
}

static int l_print(lua_State *L)
{
	/* print() in a module writes to stderr, prefixed with the module name
	 * (upvalue), and never to stdout where manifests go. */
	const char *mod = lua_tostring(L, lua_upvalueindex(1));
	int n = lua_gettop(L);
	fprintf(stderr, "oamlua: [%s]", mod ? mod : "?");
	for (int i = 1; i <= n; i++)
		fprintf(stderr, " %s", luaL_tolstring(L, i, NULL)), lua_pop(L, 1);
	fputc('\n', stderr);
	return 0;
}

static int l_make_print(lua_State *L)
{
	luaL_checkstring(L, 1);
	lua_pushvalue(L, 1);
	lua_pushcclosure(L, l_print, 1);
	return 1;
}

static int run_embedded(lua_State *L, const char *name, int nargs)
{
	for (int i = 0; luasrc_files[i].name; i++) {
		if (strcmp(luasrc_files[i].name, name))
			continue;
		char chunk[64];
		snprintf(chunk, sizeof chunk, "=%s", name);
		/* The host's own library (trusted, built with this liblua) loads
		 * from bytecode, without parsing; modules never may (OAM501). The
		 * source is the fallback should the linked liblua not read it. */
		if (!luasrc_files[i].bc ||
		    luaL_loadbufferx(L, (const char *)luasrc_files[i].bc, luasrc_files[i].bclen, chunk, "b")) {
			if (luasrc_files[i].bc)
				lua_pop(L, 1);
			if (luaL_loadbufferx(L, (const char *)luasrc_files[i].src, luasrc_files[i].len, chunk, "t"))
				return lua_error(L);
		}
		lua_insert(L, -(nargs + 1));
		lua_call(L, nargs, 1);
		return 1;
	}
	return luaL_error(L, "embedded Lua source '%s' missing", name);
}

/* Everything that can raise during setup happens in here (lua.c's pmain). */
static int l_setup(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },
		{ LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },
		{ LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },
		{ NULL, NULL }
	};
	for (const luaL_Reg *l = libs; l->func; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	/* string.dump would hand out bytecode, and strings index the string
	 * table through their metatable: remove it at the source. */
	lua_getglobal(L, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	/* Hide the string metatable from getmetatable(""). */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushliteral(L, "string");
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
	/* The library modules see, then the sandbox builder. */
	lua_pushlightuserdata(L, NULL);           /* oam.null */
	run_embedded(L, "oam", 1);                 /* stack: oam */
	lua_pushvalue(L, -1);
	run_embedded(L, "pod", 1);                 /* adds the pod helpers to oam */
	lua_pop(L, 1);
	lua_pushvalue(L, -1);
	lua_pushcfunction(L, l_make_print);
	run_embedded(L, "sandbox", 2);             /* stack: oam host */
	oam_lconv_register(L, -1);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &HOST_KEY);
	lua_pop(L, 1);
	return 0;
}

static void fill_err(struct oam_err *err, const char *id, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void fill_err(struct oam_err *err, const char *id, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	memset(err, 0, sizeof *err);
	err->sev = OAM_SEV_ERROR;
	oam_strlcpy(err->id, id, sizeof err->id);
	if (file)
		oam_strlcpy(err->file, file, sizeof err->file);
	err->line = line > 0 ? (unsigned)line : 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

int oam_lua_init(struct oam_lua *h, struct oam_err *err)
{
	memset(h, 0, sizeof *h);
	h->insn_budget = OAM_LUA_DEFAULT_BUDGET;
	h->mem_call_limit = OAM_LUA_DEFAULT_MEM;
#ifndef OAM_ASAN
	h->pool = calloc(1, sizeof(struct pool));
#endif
	const char *fail = getenv("OAMLUA_FAIL_ALLOC");
	if (fail)
		h->fail_alloc_at = atoll(fail);
	h->L = lua_newstate(l_alloc, h);
	if (!h->L) {
		fill_err(err, "OAM900", NULL, 0, "cannot create the Lua state: out of memory");
		pool_release(h->pool);
		h->pool = NULL;
		return -1;
	}
	*(struct oam_lua **)lua_getextraspace(h->L) = h;
	lua_pushcfunction(h->L, l_setup);
	if (lua_pcall(h->L, 0, 0, 0) != LUA_OK) {
		fill_err(err, "OAM900", NULL, 0, "cannot set up Lua: %s",
			 lua_tostring(h->L, -1) ? lua_tostring(h->L, -1) : "out of memory");
		lua_close(h->L);
		h->L = NULL;
		pool_release(h->pool);
		h->pool = NULL;
		return -1;
	}
	return 0;
}

void oam_lua_close(struct oam_lua *h)
{
	if (h->L)
		lua_close(h->L);
	h->L = NULL;
	pool_release(h->pool);
	h->pool = NULL;
}

void oam_lua_push_host(struct oam_lua *h)
{
	lua_rawgetp(h->L, LUA_REGISTRYINDEX, &HOST_KEY);
}

void oam_lua_push_hostfn(struct oam_lua *h, const char *fn_name)
{
	oam_lua_push_host(h);
	lua_getfield(h->L, -1, fn_name);
	lua_remove(h->L, -2);
}

int oam_lua_pcall_host(struct oam_lua *h, int nargs, int nres, struct oam_err *err)
{
	lua_State *L = h->L;
	int base = lua_gettop(L) - nargs;
	lua_pushcfunction(L, l_msgh);
	lua_insert(L, base);
	h->err_file[0] = '\0';
	h->err_line = 0;
	h->err_id[0] = '\0';
	int st = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	if (st == LUA_OK)
		return 0;
	if (st == LUA_ERRMEM)
		fill_err(err, "OAM900", NULL, 0, "out of memory");
	else if (h->err_id[0]) {
		fill_err(err, h->err_id, h->err_file, h->err_line, "%s", lua_tostring(L, -1));
		oam_strlcpy(err->hint, h->err_hint, sizeof err->hint);
	} else
		fill_err(err, "OAM601", h->err_file, h->err_line, "%s", lua_tostring(L, -1));
	lua_pop(L, 1);
	return -1;
}

int oam_lua_call(struct oam_lua *h, const char *module, const char *what, int nargs, int nres,
		 struct oam_err *err)
{
	lua_State *L = h->L;
	int base = lua_gettop(L) - nargs;   /* the function's slot */
	lua_pushcfunction(L, l_msgh);
	lua_insert(L, base);
	h->err_file[0] = '\0';
	h->err_line = 0;
	h->err_id[0] = '\0';
	h->traceback[0] = '\0';
	h->insn_used = 0;
	h->insn_hit = 0;
	h->mem_hit = 0;
	h->mem_call_base = h->mem_used;
	h->in_call = 1;
	if (profiling < 0)
		profiling = getenv("OAMLUA_PROFILE") != NULL;
	lua_sethook(L, l_hook, LUA_MASKCOUNT, profiling ? 20 : HOOK_STEP);
	int st = lua_pcall(L, nargs, nres, base);
	lua_sethook(L, NULL, 0, 0);
	h->in_call = 0;
	lua_remove(L, base);
	if (st == LUA_OK && !h->insn_hit && !h->mem_hit)
		return 0;
	char msg[600];
	oam_strlcpy(msg, st != LUA_OK && lua_tostring(L, -1) ? lua_tostring(L, -1) : "unknown error", sizeof msg);
	lua_pop(L, st == LUA_OK ? nres : 1);
	if (h->insn_hit)
		fill_err(err, "OAM602", h->err_file, h->err_line,
			 "module '%s' exceeded its instruction budget (%lld instructions) %s", module,
			 h->insn_budget, what);
	else if (h->mem_hit || st == LUA_ERRMEM)
		fill_err(err, "OAM603", h->err_file, h->err_line,
			 "module '%s' exceeded its memory limit (%zu MiB) %s", module,
			 h->mem_call_limit >> 20, what);
	else if (h->err_id[0]) {
		fill_err(err, h->err_id, h->err_file, h->err_line, "%s (%s)", msg, what);
		oam_strlcpy(err->hint, h->err_hint, sizeof err->hint);
	} else
		fill_err(err, "OAM601", h->err_file, h->err_line, "module '%s' failed %s: %s", module, what, msg);
	lua_gc(L, LUA_GCCOLLECT);
	return -1;
}

static int load_chunk(struct oam_lua *h, const char *buf, size_t len, const char *display,
		      const char *modname, struct oam_err *err)
{
	lua_State *L = h->L;
	char chunk[300];
	snprintf(chunk, sizeof chunk, "@%s", display);
	if (len >= 4 && !memcmp(buf, LUA_SIGNATURE, 4)) {
		fill_err(err, "OAM501", display, 0, "module '%s' is precompiled bytecode, which is refused",
			 modname);
		oam_strlcpy(err->hint, "ship the module's Lua source text", sizeof err->hint);
		return -1;
	}
	int st = luaL_loadbufferx(L, buf, len, chunk, "t");
	if (st != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		/* "@file:LINE: text" → file, LINE, text */
		int line = 0;
		const char *p = msg ? strstr(msg, display) : NULL;
		if (p) {
			p += strlen(display);
			if (*p == ':') {
				line = atoi(p + 1);
				p = strchr(p + 1, ':');
				msg = p ? p + 2 : msg;
			}
		}
		fill_err(err, "OAM501", display, line, "syntax error in module '%s': %s", modname,
			 msg ? msg : "out of memory");
		lua_pop(L, 1);
		return -1;
	}
	/* A fresh environment from the sandbox builder becomes the chunk's _ENV. */
	oam_lua_push_hostfn(h, "new_env");
	lua_pushstring(L, modname);
	if (oam_lua_pcall_host(h, 1, 1, err) < 0) {
		lua_pop(L, 1);
		return -1;
	}
	if (!lua_setupvalue(L, -2, 1))
		lua_pop(L, 1);
	char what[320];
	snprintf(what, sizeof what, "while loading %s", display);
	if (oam_lua_call(h, modname, what, 0, 1, err) < 0) {
		if (!strcmp(err->id, "OAM601"))
			oam_strlcpy(err->id, "OAM502", sizeof err->id);
		if (!err->file[0])
			oam_strlcpy(err->file, display, sizeof err->file);
		return -1;
	}
	return 0;
}

int oam_lua_load_module_buffer(struct oam_lua *h, const char *buf, size_t len, const char *display,
			       const char *modname, struct oam_err *err)
{
	return load_chunk(h, buf, len, display, modname, err);
}

int oam_lua_load_module(struct oam_lua *h, const char *path, const char *display, const char *modname,
			struct oam_err *err)
{
	unsigned char *buf;
	size_t len;
	if (oam_file_read(path, &buf, &len, SIZE_MAX, 0) < 0) {
		if (errno == ENOMEM)
			fill_err(err, "OAM900", display, 0, "out of memory");
		else
			fill_err(err, "OAM901", display, 0, "cannot read module: %s", strerror(errno));
		return -1;
	}
	int rc = load_chunk(h, (const char *)buf, len, display, modname, err);
	free(buf);
	return rc;
}
