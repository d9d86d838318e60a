/* Unit tests: the patch API (lua/oam.lua) — RFC 7396 merge patches, RFC 6902
 * JSON patches, merge_by_key, and the write tracking behind them. */
#include "tap.h"
#include "oamlua/lhost.h"
#include <lauxlib.h>

static struct oam_lua h;
static int obj_ref = LUA_NOREF;   /* the object the bodies patch: their ctx */

/* Prepended to every body: show(v) writes a value in one line, keys sorted. */
static const char prelude[] =
	"local function show(v)\n"
	"  if type(v) ~= 'table' then return v == oam.null and 'null' or tostring(v) end\n"
	"  local out = {}\n"
	"  if oam.is_array(v) then\n"
	"    for _, x in ipairs(v) do out[#out + 1] = show(x) end\n"
	"    return '[' .. table.concat(out, ',') .. ']'\n"
	"  end\n"
	"  for _, k in ipairs(oam.sorted_keys(v)) do out[#out + 1] = k .. '=' .. show(v[k]) end\n"
	"  return '{' .. table.concat(out, ',') .. '}'\n"
	"end\n";

/* Writes are tracked as `writer`'s (nobody's when NULL; override_all: the
 * writer declares overrides = true). */
static void set_writer(const char *writer, int override_all)
{
	oam_lua_push_hostfn(&h, "track_writer");
	if (writer)
		lua_pushstring(h.L, writer);
	else
		lua_pushnil(h.L);
	if (override_all)
		lua_pushboolean(h.L, 1);
	else
		lua_pushnil(h.L);
	lua_call(h.L, 2, 0);
}

/* Calls render(ctx) of a module whose render body is `body`, with ctx the
 * current object, as `writer`. Returns 0 (out: the result as a string) or -1
 * with err filled. */
static int run_as(const char *writer, int override_all, const char *body, struct oam_err *err, char *out,
		  size_t outsize)
{
	char src[8192];
	snprintf(src, sizeof src, "%s return { render = function(ctx) %s end }", prelude, body);
	memset(err, 0, sizeof *err);
	out[0] = '\0';
	int top = lua_gettop(h.L);
	if (oam_lua_load_module_buffer(&h, src, strlen(src), "traits/t.lua", "t", err) < 0)
		return -1;
	lua_getfield(h.L, -1, "render");
	lua_rawgeti(h.L, LUA_REGISTRYINDEX, obj_ref);
	set_writer(writer, override_all);
	int rc = oam_lua_call(&h, "t", "in a test", 1, 1, err);
	set_writer(NULL, 0);
	if (rc == 0) {
		const char *s = luaL_tolstring(h.L, -1, NULL);
		snprintf(out, outsize, "%s", s);
	}
	lua_settop(h.L, top);
	return rc;
}

/* Makes the object built by the Lua expression `expr` the current one,
 * emitted by a workload module (whose fields traits may change). */
static void new_object(const char *expr)
{
	struct oam_err err;
	char src[4096];
	snprintf(src, sizeof src, "return { render = function() return %s end }", expr);
	int top = lua_gettop(h.L);
	if (oam_lua_load_module_buffer(&h, src, strlen(src), "workloads/w.lua", "w", &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
	lua_getfield(h.L, -1, "render");
	if (oam_lua_call(&h, "w", "in a test", 0, 1, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
	luaL_unref(h.L, LUA_REGISTRYINDEX, obj_ref);
	oam_lua_push_hostfn(&h, "track_emitted");
	lua_pushvalue(h.L, -2);
	lua_pushstring(h.L, "Server");
	lua_pushboolean(h.L, 1);
	lua_call(h.L, 3, 0);
	obj_ref = luaL_ref(h.L, LUA_REGISTRYINDEX);
	lua_settop(h.L, top);
}

/* The module recorded as the writer of `path` of the current object. */
static const char *owner_of(const char *path, char *buf, size_t size)
{
	oam_lua_push_hostfn(&h, "owners");
	lua_rawgeti(h.L, LUA_REGISTRYINDEX, obj_ref);
	lua_call(h.L, 1, 2);
	lua_getfield(h.L, -2, path);
	snprintf(buf, size, "%s", lua_isstring(h.L, -1) ? lua_tostring(h.L, -1) : "-");
	lua_pop(h.L, 3);
	return buf;
}

#define RUN(writer, body, expect, name)                                                        \
	do {                                                                                   \
		int rc_ = run_as(writer, 0, body, &err, out, sizeof out);                      \
		ok(rc_ == 0 && !strcmp(out, expect), "%s (got '%s'%s%s)", name, out,           \
		   rc_ ? ": " : "", rc_ ? err.msg : "");                                        \
	} while (0)

/* The body fails with error `id` and a message containing `part`. */
#define FAILS(writer, body, want_id, part, name)                                               \
	do {                                                                                   \
		int rc_ = run_as(writer, 0, body, &err, out, sizeof out);                      \
		ok(rc_ < 0 && !strcmp(err.id, want_id) && strstr(err.msg, part), "%s (%s: %s)", name, \
		   rc_ ? err.id : "no error", rc_ ? err.msg : out);                             \
	} while (0)

int main(void)
{
	struct oam_err err;
	char out[1024], who[64];
	if (oam_lua_init(&h, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		return 1;
	}
	h.insn_budget = 2000000;
	h.mem_call_limit = 32u << 20;

	/* RFC 7396, appendix A (the cases Lua tables can express). */
	new_object("{}");
	RUN(NULL, "local t = {a = 'b'}; oam.merge(t, {a = 'c'}); return show(t)", "{a=c}", "7396: replace a value");
	RUN(NULL, "local t = {a = 'b'}; oam.merge(t, {b = 'c'}); return show(t)", "{a=b,b=c}", "7396: add a member");
	RUN(NULL, "local t = {a = 'b', b = 'c'}; oam.merge(t, {a = oam.null}); return show(t)", "{b=c}",
	    "7396: null deletes");
	RUN(NULL, "local t = {a = {'b'}}; oam.merge(t, {a = 'c'}); return show(t)", "{a=c}", "7396: a scalar replaces a list");
	RUN(NULL, "local t = {a = 'c'}; oam.merge(t, {a = {'b'}}); return show(t)", "{a=[b]}", "7396: a list replaces a scalar");
	RUN(NULL, "local t = {a = {b = 'c'}}; oam.merge(t, {a = {b = 'd', c = oam.null}}); return show(t)", "{a={b=d}}",
	    "7396: maps merge recursively");
	RUN(NULL, "local t = {a = {{b = 'c'}}}; oam.merge(t, {a = {1}}); return show(t)", "{a=[1]}", "7396: lists replace whole");
	RUN(NULL, "local t = {e = oam.null}; oam.merge(t, {a = 1}); return show(t)", "{a=1,e=null}",
	    "7396: a null in the target stays");
	RUN(NULL, "local t = {}; oam.merge(t, {a = {bb = {ccc = oam.null}}}); return show(t)", "{a={bb={}}}",
	    "7396: nulls in a new member are dropped");
	RUN(NULL, "local t = {a = {b = 1}, c = 2}; oam.merge(t, {a = {}}); return show(t)", "{a={b=1},c=2}",
	    "7396: an empty object changes nothing");
	RUN(NULL, "local t = {a = 'x'}; oam.merge(t, {a = {}, n = {}}); return show(t)", "{a={},n={}}",
	    "7396: an empty object replaces a scalar and adds a missing member");
	RUN(NULL, "local t = {a = {1, 2}}; oam.merge(t, {a = oam.array()}); return show(t)", "{a=[]}",
	    "7396: an empty list replaces a list");
	RUN(NULL, "local t = {metadata = {labels = {app = 'web'}}}; oam.merge_at(t, 'metadata', {labels = {}}); return show(t)",
	    "{metadata={labels={app=web}}}", "oam.merge_at with an empty object keeps the labels");

	/* merge_by_key. */
	RUN(NULL, "local t = {c = {{name = 'a', image = 'x'}}}; "
		  "oam.merge_by_key(t, 'c', 'name', {{name = 'a', image = 'y', tty = true}, {name = 'b'}}); return show(t)",
	    "{c=[{image=y,name=a,tty=true},{name=b}]}", "merge_by_key merges matching entries, appends others");
	RUN(NULL, "local t = {}; oam.merge_by_key(t, 'spec.ports', {'port', 'protocol'}, "
		  "{{port = 53, protocol = 'UDP'}, {port = 53, protocol = 'TCP', name = 'tcp'}}); "
		  "oam.merge_by_key(t, 'spec.ports', {'port', 'protocol'}, {{port = 53, protocol = 'TCP', name = 'dns'}}); return show(t)",
	    "{spec={ports=[{port=53,protocol=UDP},{name=dns,port=53,protocol=TCP}]}}", "merge_by_key on several key fields");

	/* RFC 6902. */
	RUN(NULL, "local t = {a = {b = {c = 'x'}}, d = {}}; "
		  "oam.json_patch(t, {{op = 'move', from = '/a/b/c', path = '/d/e'}}); return show(t)",
	    "{a={b={}},d={e=x}}", "6902: move a value");
	RUN(NULL, "local t = {l = {'all', 'grass', 'cows', 'eat'}}; "
		  "oam.json_patch(t, {{op = 'move', from = '/l/1', path = '/l/3'}}); return show(t)",
	    "{l=[all,cows,eat,grass]}", "6902: move an item within a list");
	RUN(NULL, "local t = {l = {'a', 'b', 'c'}}; "
		  "oam.json_patch(t, {{op = 'move', from = '/l/0', path = '/l/-'}}); return show(t)",
	    "{l=[b,c,a]}", "6902: move an item to the end of its list");
	RUN(NULL, "local t = {a = {b = {1, 2}}}; "
		  "oam.json_patch(t, {{op = 'copy', from = '/a', path = '/c'}}); t.c.b[1] = 9; return show(t)",
	    "{a={b=[1,2]},c={b=[9,2]}}", "6902: copy makes an independent deep copy");
	RUN(NULL, "local t = {l = {'a', 'b'}}; "
		  "oam.json_patch(t, {{op = 'copy', from = '/l/1', path = '/l/0'}}); return show(t)",
	    "{l=[b,a,b]}", "6902: copy into a list inserts");
	RUN(NULL, "local t = {c = {{name = 'a', ports = {{containerPort = 80}}}}}; "
		  "oam.json_patch(t, {{op = 'test', path = '/c/0/ports', value = {{containerPort = 80}}}, "
		  "{op = 'replace', path = '/c/0/name', value = 'b'}}); return show(t)",
	    "{c=[{name=b,ports=[{containerPort=80}]}]}", "6902: a passing test of a list lets the patch go on");
	RUN(NULL, "local t = {c = {{name = 'a', ports = {{containerPort = 80}}}}}; "
		  "local ok, e = pcall(oam.json_patch, t, {{op = 'test', path = '/c/0/ports', value = {{name = 'nope'}}}, "
		  "{op = 'replace', path = '/c/0/name', value = 'evil'}}); return tostring(ok) .. ' ' .. e .. ' ' .. show(t)",
	    "false json patch test failed at '/c/0/ports' {c=[{name=a,ports=[{containerPort=80}]}]}",
	    "6902: a failing test of a list stops the patch");
	RUN(NULL, "local t = {m = {a = 1, b = {2}}}; "
		  "local ok1 = pcall(oam.json_patch, t, {{op = 'test', path = '/m', value = {a = 1, b = {2}}}}); "
		  "local ok2 = pcall(oam.json_patch, t, {{op = 'test', path = '/m', value = {a = 1}}}); "
		  "local ok3 = pcall(oam.json_patch, t, {{op = 'test', path = '/m', value = {a = 1, b = {3}}}}); "
		  "local ok4 = pcall(oam.json_patch, t, {{op = 'test', path = '/m/a', value = 2}}); "
		  "return tostring(ok1) .. tostring(ok2) .. tostring(ok3) .. tostring(ok4)",
	    "truefalsefalsefalse", "6902: test compares objects deeply");

	/* Write tracking: a write inside a subtree another trait wrote whole. */
	new_object("{spec = {template = {spec = {containers = {{name = 'app', image = 'app:1'}}}}}}");
	RUN("security-context", "oam.merge_at(ctx, 'spec.template.spec', {securityContext = {runAsUser = 1000}})", "nil",
	    "a trait writes a subtree whole");
	FAILS("root", "oam.set(ctx, 'spec.template.spec.securityContext.runAsUser', 0)", "OAM605",
	      "'spec.template.spec.securityContext.runAsUser' of", "changing a field inside it is a conflict");
	ok(strstr(err.msg, "but trait 'security-context' set it to 1000") != NULL, "naming the subtree's writer (%s)", err.msg);
	FAILS("root", "oam.merge(ctx, {spec = {template = {spec = {securityContext = {runAsUser = oam.null}}}}})", "OAM605",
	      "'spec.template.spec.securityContext.runAsUser'", "deleting a field inside it is a conflict");
	RUN("root", "oam.set(ctx, 'spec.template.spec.securityContext.runAsUser', 1000)", "nil",
	    "writing the same value inside it is fine");
	is_str(owner_of("spec.template.spec.securityContext.runAsUser", who, sizeof who), "-",
	       "a same-value write does not take the field over");
	RUN("fs", "oam.set(ctx, 'spec.template.spec.securityContext.fsGroup', 2000)", "nil",
	    "adding a field inside it is fine");
	FAILS("root", "oam.set(ctx, 'spec.template.spec.securityContext.fsGroup', 0)", "OAM605", "but trait 'fs' set it to 2000",
	      "the added field belongs to its writer");
	ok(run_as("root", 1, "oam.set(ctx, 'spec.template.spec.securityContext.runAsUser', 0)", &err, out, sizeof out) == 0,
	   "a trait with overrides may change it (%s)", err.msg);
	is_str(owner_of("spec.template.spec.securityContext.runAsUser", who, sizeof who), "root", "and then owns it");

	/* Containers another trait added. */
	RUN("sidecar", "oam.merge_by_key(ctx, 'spec.template.spec.containers', 'name', {{name = 'helper', image = 'busybox:1'}})",
	    "nil", "a trait adds a container");
	FAILS("init", "oam.merge_by_key(ctx, 'spec.template.spec.containers', 'name', {{name = 'helper', image = 'alpine:3'}})",
	      "OAM605", "'spec.template.spec.containers[1].image' of", "merging another image into it is a conflict");
	RUN("sc", "oam.merge_by_key(ctx, 'spec.template.spec.containers', 'name', "
		  "{{name = 'app', securityContext = {privileged = false}}, {name = 'helper', securityContext = {privileged = false}}})",
	    "nil", "adding fields to both containers is fine");
	is_str(owner_of("spec.template.spec.containers[1].name", who, sizeof who), "-",
	       "merge_by_key does not take over the key field");
	is_str(owner_of("spec.template.spec.containers[0].name", who, sizeof who), "-",
	       "not even in the workload's own entries");
	is_str(owner_of("spec.template.spec.containers[1]", who, sizeof who), "sidecar", "the added entry stays the sidecar's");

	/* Same-value writes keep the first writer. */
	new_object("{spec = {}}");
	RUN("scaler", "oam.set(ctx, 'spec.replicas', 3)", "nil", "a trait sets a field");
	RUN("other", "oam.merge(ctx, {spec = {replicas = 3}})", "nil", "another sets the same value");
	is_str(owner_of("spec.replicas", who, sizeof who), "scaler", "the first writer keeps the field");
	FAILS("third", "oam.set(ctx, 'spec.replicas', 5)", "OAM605", "but trait 'scaler' set it to 3",
	      "a conflict names the first writer");

	/* List entries keep their writers when json_patch inserts or removes
	 * entries before them. */
	new_object("{spec = {containers = {{name = 'app', image = 'app:1'}}}}");
	RUN("sidecar", "oam.merge_by_key(ctx, 'spec.containers', 'name', {{name = 'helper', image = 'busybox:1'}})", "nil",
	    "a trait adds a container");
	RUN("json-patch", "oam.json_patch(ctx, {{op = 'add', path = '/spec/containers/0', value = {name = 'first', image = 'alpine:3'}}})",
	    "nil", "another inserts one in front");
	is_str(owner_of("spec.containers[2]", who, sizeof who), "sidecar", "the added container's writer moved with it");
	is_str(owner_of("spec.containers[1]", who, sizeof who), "-", "the workload's container is nobody's");
	is_str(owner_of("spec.containers[0]", who, sizeof who), "json-patch", "the inserted one is its writer's");
	FAILS("other", "oam.set(ctx, 'spec.containers[2].image', 'evil:1')", "OAM605", "but trait 'sidecar' set it to busybox:1",
	      "changing the moved container still collides with its writer");
	RUN("json-patch", "oam.json_patch(ctx, {{op = 'remove', path = '/spec/containers/1'}})", "nil",
	    "removing the workload's container");
	is_str(owner_of("spec.containers[1]", who, sizeof who), "sidecar", "moves the sidecar's back");
	is_str(owner_of("spec.containers[2]", who, sizeof who), "-", "and leaves nothing behind");
	FAILS("json-patch", "oam.json_patch(ctx, {{op = 'move', from = '/spec/containers/1', path = '/spec/containers/0'}})",
	      "OAM605", "'spec.containers[1]'", "moving another trait's entry away is removing it");
	ok(run_as("json-patch", 1, "oam.json_patch(ctx, {{op = 'move', from = '/spec/containers/1', path = '/spec/containers/0'}}); "
		   "return ctx.spec.containers[1].name .. ctx.spec.containers[2].name", &err, out, sizeof out) == 0 &&
	   !strcmp(out, "helperfirst"), "with overrides it moves (got '%s' %s)", out, err.msg);
	is_str(owner_of("spec.containers[1]", who, sizeof who), "json-patch", "shifts the entries after the new place");

	/* Parsed paths are cached by the host: a module's copy is its own. */
	RUN(NULL, "local k = oam.split_path('spec.containers[1].name'); k[1] = 'x'; k[4] = 'y'; "
	    "local again = oam.split_path('spec.containers[1].name'); "
	    "return show(again) .. ' ' .. tostring(oam.get({spec = {containers = {{}, {name = 'b'}}}}, 'spec.containers[1].name'))",
	    "[spec,containers,2,name] b", "split_path gives modules copies of cached paths");
	RUN(NULL, "return pcall(oam.split_path, '') and 'accepted' or 'refused'", "refused", "an empty path is still refused");

	luaL_unref(h.L, LUA_REGISTRYINDEX, obj_ref);
	oam_lua_close(&h);
	return done_testing();
}
