/* Unit tests: the module sandbox — escapes, limits, bytecode, isolation. */
#include "tap.h"
#include "oamlua/lhost.h"
#include <lauxlib.h>

static struct oam_lua h;

/* Loads `body` as a module and calls its render(). Returns 0 or -1 with err. */
static int run(const char *body, struct oam_err *err, char *out, size_t outsize)
{
	char src[8192];
	snprintf(src, sizeof src, "return { render = function(ctx) %s end }", body);
	memset(err, 0, sizeof *err);
	out[0] = '\0';
	int top = lua_gettop(h.L);
	if (oam_lua_load_module_buffer(&h, src, strlen(src), "traits/t.lua", "t", err) < 0)
		return -1;
	lua_getfield(h.L, -1, "render");
	lua_pushnil(h.L);
	int rc = oam_lua_call(&h, "t", "in a test", 1, 1, err);
	if (rc == 0) {
		const char *s = luaL_tolstring(h.L, -1, NULL);
		snprintf(out, outsize, "%s", s);
		lua_pop(h.L, 2);
	}
	lua_settop(h.L, top);
	return rc;
}

#define ESCAPE(code, expect, name)                                                   \
	do {                                                                         \
		int rc_ = run(code, &err, out, sizeof out);                          \
		ok(rc_ == 0 && !strcmp(out, expect), "%s (got '%s'%s%s)", name, out, \
		   rc_ ? ": " : "", rc_ ? err.msg : "");                              \
	} while (0)

int main(void)
{
	struct oam_err err;
	char out[512];
	if (oam_lua_init(&h, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	h.insn_budget = 2000000;
	h.mem_call_limit = 32u << 20;

	ESCAPE("return type(io)", "nil", "no io");
	ESCAPE("return type(os)", "nil", "no os");
	ESCAPE("return type(debug)", "nil", "no debug");
	ESCAPE("return type(package)", "nil", "no package");
	ESCAPE("return type(load)", "nil", "no load");
	ESCAPE("return type(loadfile)", "nil", "no loadfile");
	ESCAPE("return type(dofile)", "nil", "no dofile");
	ESCAPE("return type(collectgarbage)", "nil", "no collectgarbage");
	ESCAPE("return type(coroutine)", "nil", "no coroutine");
	ESCAPE("return type(string.dump)", "nil", "no string.dump");
	ESCAPE("return type(('').dump)", "nil", "no string.dump through the string metatable");
	ESCAPE("return tostring(getmetatable(''))", "string", "string metatable is hidden");
	ESCAPE("return type(math.random)", "nil", "no math.random (determinism)");
	ESCAPE("return select('#', pcall(require, 'os'))", "2", "require of anything but oam fails");
	ESCAPE("return tostring(pcall(require, 'io'))", "false", "require 'io' fails");
	ESCAPE("return type(require('oam').name)", "function", "require 'oam' works");
	ESCAPE("return type(oam._unview)", "nil", "host internals are not exported");
	ESCAPE("return tostring(_G == _ENV)", "true", "_G is the module's own environment");

	/* Isolation: one module's changes to shared names do not reach another. */
	ok(run("string.upper = function() return 'pwned' end; oam.name = nil; rawset(string, 'x', 1) return 'ok'",
	       &err, out, sizeof out) == 0, "a module may change its own copies");
	ESCAPE("return string.upper('a') .. tostring(string.x) .. type(oam.name)", "Anilfunction",
	       "another module sees pristine libraries");
	ESCAPE("return ('a'):upper()", "A", "string methods still work");

	/* Read-only views. */
	ESCAPE("local v = oam.view({a = {b = 1}}); local ok = pcall(function() v.a.b = 2 end); return tostring(ok) .. v.a.b",
	       "false1", "views are read-only, deeply");
	ESCAPE("local v = oam.view({a = 1}); return tostring(pcall(setmetatable, v, {}))", "false",
	       "a view's metatable is locked");
	ESCAPE("local t = {spec = {}}; oam.set(oam.view(t), 'spec.replicas', 3); return t.spec.replicas", "3",
	       "oam.set writes through a view");

	/* Library helpers. */
	ESCAPE("return tostring(oam.is_dns_label('web-1')) .. tostring(oam.is_dns_label('a')) .. tostring(oam.is_dns_label('-a')) .. tostring(oam.is_dns_label('A'))",
	       "truetruefalsefalse", "oam.is_dns_label");
	ESCAPE("return tostring(oam.is_dns_subdomain('a.b-c.d')) .. tostring(oam.is_dns_subdomain('a..b')) .. tostring(oam.is_dns_subdomain('a.-b'))",
	       "truefalsefalse", "oam.is_dns_subdomain");
	ESCAPE("return oam.name('Web_Server', 'x') .. ' ' .. #oam.name(string.rep('a', 80))", "web-server-x 63",
	       "oam.name normalises and shortens");
	ESCAPE("return tostring(oam.label_key_problem('example.com/tier')) .. ' ' .. oam.label_key_problem('a..b/x') .. ' | ' .. oam.label_key_problem('-x')",
	       "nil key 'a..b/x': prefix 'a..b' is not a DNS subdomain | key '-x': name '-x' must be 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends",
	       "oam.label_key_problem");
	ESCAPE("return tostring(oam.is_int_or_percent(0)) .. tostring(oam.is_int_or_percent('100%')) .. tostring(oam.is_int_or_percent('101%')) .. tostring(oam.is_int_or_percent(-1)) .. tostring(oam.is_int_or_percent(1.5)) .. tostring(oam.is_int_or_percent('5'))",
	       "truetruefalsefalsefalsefalse", "oam.is_int_or_percent");
	ESCAPE("return tostring(oam.is_label_value('')) .. tostring(oam.is_label_value('v1.2_x')) .. tostring(oam.is_label_value('a b')) .. tostring(oam.is_label_value(3))",
	       "truetruefalsefalse", "oam.is_label_value");
	ESCAPE("local t = {spec = {template = {spec = {a = 1}}}}; oam.merge_at(t, 'spec.template.spec', {b = 2, a = oam.null}); "
	       "oam.merge_at(t, 'status.x', {y = 1}); oam.merge_at(t, '', {kind = 'K'}); "
	       "return tostring(t.spec.template.spec.a) .. t.spec.template.spec.b .. t.status.x.y .. t.kind",
	       "nil21K", "oam.merge_at merges at a path, creating maps");
	ESCAPE("return tostring(pcall(oam.merge_at, {}, 'spec.list[0]', {a = 1}))", "false",
	       "oam.merge_at refuses a list index in the path");
	ESCAPE("local r = oam.container_resources({requests = {cpu = '1'}, limits = {}}); local p = {}; "
	       "oam.container_resources_problems({requests = {memory = '1Q'}, limits = {}}, 'res', p); "
	       "return r.requests.cpu .. tostring(r.limits) .. tostring(oam.container_resources({requests = {}, limits = {}})) .. ' ' .. p[1].property .. ' ' .. p[1].message",
	       "1nilnil res requests.memory: '1Q' has an unknown unit 'Q'", "oam.container_resources and its checks");
	ESCAPE("local ctx = {spec = {containers = {{name = 'api'}, {name = 'proxy'}}}}; "
	       "return table.concat(oam.container_names(ctx), ',') .. ' ' .. tostring(oam.unknown_container(ctx, 'proxy')) .. ' ' .. oam.unknown_container(ctx, 'web')",
	       "api,proxy nil the component has no container 'web' (its containers: api, proxy)", "oam.container_names, oam.unknown_container");
	ESCAPE("local ctx = {output = {kind = 'Deployment'}, outputs = {{kind = 'Service', metadata = {name = 's'}}}}; "
	       "local ok, e = pcall(oam.instance_object, ctx, 'ConfigMap'); "
	       "return oam.instance_object(ctx).kind .. oam.instance_object(ctx, 'Service', 's').metadata.name .. ' ' .. e",
	       "Deployments the instance has no ConfigMap to patch (it has: Service 's')", "oam.instance_object");
	ESCAPE("return oam.memory('128') .. ' ' .. oam.memory('5MB') .. ' ' .. oam.memory('1Gi') .. ' ' .. oam.cpu(0.25) .. ' ' .. oam.cpu(2)",
	       "128Mi 5M 1Gi 250m 2", "OAM quantities become Kubernetes quantities");

	/* Bytecode is refused. */
	const char bc[] = "\x1bLua\x54\x00";
	ok(oam_lua_load_module_buffer(&h, bc, sizeof bc - 1, "traits/b.lua", "b", &err) < 0 && !strcmp(err.id, "OAM501"),
	   "precompiled bytecode is refused (%s)", err.msg);

	/* Syntax errors name the file and line. */
	ok(oam_lua_load_module_buffer(&h, "return {\n  x = = 1 }", 20, "traits/s.lua", "s", &err) < 0 &&
	   !strcmp(err.id, "OAM501") && err.line == 2, "syntax error at line 2 (%s)", err.msg);

	/* Runtime errors name the module line. */
	ok(run("local x = nil\n return x.y", &err, out, sizeof out) < 0 && !strcmp(err.id, "OAM601") &&
	   err.line == 2 && !strcmp(err.file, "traits/t.lua"), "runtime error at traits/t.lua:2 (%s)", err.msg);

	/* Limits. */
	ok(run("while true do end", &err, out, sizeof out) < 0 && !strcmp(err.id, "OAM602"),
	   "endless loop hits the instruction budget (%s)", err.msg);
	ok(run("for i = 1, 10 do pcall(function() while true do end end) end return 'escaped'", &err, out, sizeof out) < 0 &&
	   !strcmp(err.id, "OAM602"), "the budget is sticky: pcall cannot swallow it");
	ok(run("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", &err, out, sizeof out) < 0 &&
	   (!strcmp(err.id, "OAM603") || !strcmp(err.id, "OAM602")), "memory blow-up is stopped (%s: %s)", err.id, err.msg);
	h.insn_budget = 200000000;
	ok(run("local s = string.rep('x', 64 * 1024 * 1024) return #s", &err, out, sizeof out) < 0 &&
	   !strcmp(err.id, "OAM603"), "a 64 MiB string exceeds a 32 MiB cap (%s)", err.msg);
	ok(run("local ok = pcall(string.rep, 'x', 64 * 1024 * 1024) return 'survived'", &err, out, sizeof out) < 0 &&
	   !strcmp(err.id, "OAM603"), "the memory cap is sticky: pcall cannot swallow it");
	ESCAPE("return 'fine'", "fine", "the state is usable after limit errors");

	oam_lua_close(&h);
	return done_testing();
}
