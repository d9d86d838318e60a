-- sandbox.lua — trusted host code: builds module environments and prepares
-- what modules return for the emitter. Runs once at start-up with the full
-- (already reduced) base library; modules never see this table.
local oam, make_print = ...

local host = {}

local pairs, ipairs, type, next, tostring, error = pairs, ipairs, type, next, tostring, error
local setmetatable, getmetatable = setmetatable, getmetatable
local sfmt = string.format

-- What a module may use. No load/loadfile/dofile/require (a restricted one
-- is provided), no collectgarbage, no io/os/debug/package/coroutine, and no
-- math.random (output must be deterministic).
local SAFE_GLOBALS = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
	"rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type",
	"xpcall", "_VERSION",
}
local SAFE_LIBS = {
	string = true, table = true, math = true, utf8 = true,
}
local REMOVED = { ["math.random"] = true, ["math.randomseed"] = true, ["string.dump"] = true }

local G = _G

local function copy_lib(name)
	local src, r = G[name], {}
	for k, v in pairs(src) do
		if not REMOVED[name .. "." .. k] then r[k] = v end
	end
	return r
end

local function public_oam()
	local r = {}
	for k, v in pairs(oam) do
		if type(k) ~= "string" or k:sub(1, 1) ~= "_" then r[k] = v end
	end
	return r
end

-- Each module gets its own environment and its own copies of the library
-- tables: what one module does to `string` or `oam` cannot reach another.
function host.new_env(modname)
	local env = {}
	for _, n in ipairs(SAFE_GLOBALS) do env[n] = G[n] end
	for n in pairs(SAFE_LIBS) do env[n] = copy_lib(n) end
	env.oam = public_oam()
	env.print = make_print(modname)
	env.require = function(name)
		if name == "oam" then return env.oam end
		error(sfmt("require('%s') is not available in the oamlua sandbox (only 'oam' is)", tostring(name)), 2)
	end
	env._G = env
	return env
end

host.view = oam.view
host.array = oam.array
host.ARRAY = oam.ARRAY
host.unview = oam._unview
host.NULL = oam.null

-- Normalises what render() returned: { output = obj, outputs = {...},
-- patch = {...} }, a list of objects, a single object, or nil.
function host.split_result(r, is_workload)
	if r == nil then return nil, {}, nil end
	if type(r) ~= "table" then
		return sfmt("render() must return a table or nil, not a %s", type(r))
	end
	r = oam._unview(r)
	if r.apiVersion ~= nil or r.kind ~= nil then           -- a single object
		if is_workload then return nil, {}, nil, r end
		return nil, { r }, nil
	end
	if r.output ~= nil or r.outputs ~= nil or r.patch ~= nil then
		local outs = r.outputs or {}
		if type(outs) ~= "table" then return "'outputs' must be a list of objects" end
		local list = {}
		for k, v in pairs(outs) do
			if type(k) ~= "number" then
				return sfmt("'outputs' must be a list of objects (found key '%s')", tostring(k))
			end
		end
		for i = 1, #outs do list[i] = outs[i] end
		if r.output ~= nil and not is_workload then
			return "a trait cannot return 'output' (the workload): patch ctx.output instead"
		end
		return nil, list, r.patch, r.output
	end
	-- A plain list of objects.
	local list = {}
	for i = 1, #r do list[i] = r[i] end
	if next(r) ~= nil and #list == 0 then
		return "render() returned a table that is neither an object, a list of objects, nor { output =, outputs = }"
	end
	if is_workload then
		local primary = table.remove(list, 1)
		return nil, list, nil, primary
	end
	return nil, list, nil
end

host.merge = oam.merge
host.track_writer = oam._track_writer
host.track_emitted = oam._track_emitted
host.owners = oam._owners
host.disruptive = oam._disruptive

return host
