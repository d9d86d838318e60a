-- oam.lua — the library every workload and trait module sees as `oam`.
--
-- Helpers for building Kubernetes objects (names, labels, quantities, deep
-- copies) and the patch API through which traits change objects that the
-- workload or earlier traits emitted. Objects a trait did not create reach it
-- as read-only views; it changes them only through oam.set / oam.merge /
-- oam.merge_by_key / oam.json_patch, so that the host sees every write.
local NULL = ...

local oam = {}
oam.null = NULL                 -- explicit YAML null in output / deletion in merge patches
oam.API_VERSION = "oamlua/v1"

local type, pairs, ipairs, next, select = type, pairs, ipairs, next, select
local setmetatable, getmetatable, rawget = setmetatable, getmetatable, rawget
local tostring, tonumber, error = tostring, tonumber, error
local sfmt, sfind, ssub, sgsub, slower, smatch = string.format, string.find, string.sub, string.gsub,
	string.lower, string.match
local tconcat, tsort = table.concat, table.sort
local floor, mtype = math.floor, math.type

---------------------------------------------------------------------------
-- Arrays. A Lua table is emitted as a YAML sequence when its keys are
-- exactly 1..n. An empty table is emitted as a map ({}), unless it is marked
-- as an array with oam.array() — use that for lists that may be empty.
local ARRAY = { __name = "oam.array" }
oam.ARRAY = ARRAY

function oam.array(t)
	return setmetatable(t or {}, ARRAY)
end

function oam.is_array(t)
	if type(t) ~= "table" then return false end
	if getmetatable(t) == ARRAY then return true end
	local n = #t
	if n == 0 then return false end
	local count = 0
	for _ in pairs(t) do count = count + 1 end
	return count == n
end

---------------------------------------------------------------------------
-- Read-only views of objects owned by someone else.
local real_of = setmetatable({}, { __mode = "k" })   -- view -> real table
local view_of = setmetatable({}, { __mode = "kv" })  -- real table -> view

local VIEW = {}
local function view(t)
	if type(t) ~= "table" or real_of[t] then return t end
	local v = view_of[t]
	if v then return v end
	v = setmetatable({}, VIEW)
	real_of[v] = t
	view_of[t] = v
	return v
end
VIEW.__index = function(v, k) return view(real_of[v][k]) end
VIEW.__newindex = function()
	error("rendered objects are read-only here: change them with oam.set(obj, path, value) or oam.merge(obj, patch)", 2)
end
VIEW.__len = function(v) return #real_of[v] end
VIEW.__pairs = function(v)
	local t = real_of[v]
	return function(_, k)
		local nk, nv = next(t, k)
		return nk, view(nv)
	end, v, nil
end
VIEW.__metatable = "oamlua read-only view"
VIEW.__name = "oam.view"

oam.view = view
-- The real table behind a view (host use; not exported to modules).
local function unview(t)
	return real_of[t] or t
end

function oam.is_view(t) return real_of[t] ~= nil end

---------------------------------------------------------------------------
-- Deep copy (of views too: the copy is a plain table the caller owns).
local function copy(v, seen)
	v = unview(v)
	if type(v) ~= "table" then return v end
	seen = seen or {}
	if seen[v] then error("cannot copy a table that contains itself", 3) end
	seen[v] = true
	local r = {}
	for k, x in pairs(v) do r[k] = copy(x, seen) end
	seen[v] = nil
	if getmetatable(v) == ARRAY then setmetatable(r, ARRAY) end
	return r
end
function oam.copy(v) return copy(v) end

---------------------------------------------------------------------------
-- Paths: "spec.template.spec.containers[0].image", or a list of keys
-- ({"metadata", "labels", "app.kubernetes.io/name"}) when keys contain dots.
-- The host parses the same few paths for every instance: parsed once, and
-- shared (the host never changes a key list; modules get copies).
local split_cache, nsplit = {}, 0
local function split_path(path)
	if type(path) == "table" then return path end
	local keys = split_cache[path]
	if keys then return keys end
	if type(path) ~= "string" or path == "" then
		error("a path must be a non-empty string or a list of keys", 3)
	end
	keys = {}
	for part in path:gmatch("[^.]+") do
		local name, rest = part:match("^([^%[]*)(.*)$")
		if name ~= "" then keys[#keys + 1] = name end
		for idx in rest:gmatch("%[(%d+)%]") do keys[#keys + 1] = tonumber(idx) + 1 end
	end
	if nsplit >= 4096 then split_cache, nsplit = {}, 0 end
	split_cache[path], nsplit = keys, nsplit + 1
	return keys
end
function oam.split_path(path)
	local keys = split_path(path)
	if keys == path then return keys end
	local c = {}
	for i = 1, #keys do c[i] = keys[i] end
	return c
end

local function path_text(keys, upto)
	local out = {}
	for i = 1, (upto or #keys) do
		local k = keys[i]
		if type(k) == "number" then out[#out + 1] = "[" .. (k - 1) .. "]"
		else out[#out + 1] = (#out > 0 and "." or "") .. tostring(k) end
	end
	return tconcat(out)
end
oam.path_text = path_text

function oam.get(obj, path, default)
	local t = unview(obj)
	for _, k in ipairs(split_path(path)) do
		if type(t) ~= "table" then return default end
		t = unview(t)[k]
	end
	if t == nil then return default end
	return view(t)
end

---------------------------------------------------------------------------
-- Write tracking. Every object remembers which module emitted it, and every
-- field a module writes through the patch API below is recorded with its
-- writer. A trait that changes a field another trait set to a different
-- value fails (unless the module declares `overrides`), naming both.
local emitter = setmetatable({}, { __mode = "k" })   -- object -> module name
local owners = setmetatable({}, { __mode = "k" })    -- object -> { path -> module }
local workload_of = setmetatable({}, { __mode = "k" }) -- object -> true if emitted by a workload module
local writer = nil            -- { name =, overrides = true | {prefix...} | nil }
local disruptive = {}         -- trait name -> true when it wrote under a pod template
local tracking = true

-- Paths as text ("spec.template.spec.containers[0]"), built key by key
-- from their parent's: every write builds its path, and the same few
-- hundred paths recur across instances, so each (parent, key) is joined once.
local child_paths = {}
local function child_path(parent, k)
	local c = child_paths[parent]
	if not c then c = {}; child_paths[parent] = c end
	local p = c[k]
	if not p then
		if type(k) == "number" then p = parent .. "[" .. (k - 1) .. "]"
		elseif parent == "" then p = tostring(k)
		else p = parent .. "." .. tostring(k) end
		c[k] = p
	end
	return p
end

local pod_template_paths = {}   -- path -> whether it is inside a pod template
local function in_pod_template(path)
	local r = pod_template_paths[path]
	if r == nil then
		r = (sfind(path, "^spec%.template%.") or sfind(path, "^spec%.jobTemplate%.spec%.template%.")) ~= nil
		pod_template_paths[path] = r
	end
	return r
end

local function path_key(keys, n)
	local path = ""
	for i = 1, n or #keys do path = child_path(path, keys[i]) end
	return path
end

local function same_value(a, b)
	if type(a) ~= "table" or type(b) ~= "table" then return a == b end
	for k, v in pairs(a) do if not same_value(v, b[k]) then return false end end
	for k in pairs(b) do if a[k] == nil then return false end end
	return true
end

local function may_override(path)
	local o = writer and writer.overrides
	if o == true then return true end
	if type(o) == "table" then
		for _, prefix in ipairs(o) do
			if path == prefix or ssub(path, 1, #prefix + 1) == prefix .. "." or ssub(path, 1, #prefix + 1) == prefix .. "[" then
				return true
			end
		end
	end
	return false
end

local function conflict(root, path, other, old, new)
	local md = root.metadata or {}
	error({ oam_id = "OAM605", message = sfmt(
		"trait '%s' sets '%s' of %s '%s' to %s, but trait '%s' set it to %s",
		writer.name, path, tostring(root.kind), tostring(md.name), tostring(new), other, tostring(old)),
		hint = sfmt("two traits may not set one field differently; remove one, or declare overrides = { \"%s\" } in '%s' if it should win",
			path, writer.name) }, 0)
end

-- Checks and records a write of `value` at keys[1..n] of root (a real table).
-- The field's writer is the nearest one recorded at its path or a parent's
-- (a trait that wrote a map or a list entry whole owns what is inside it),
-- else, for an object a trait emitted, that trait. Another writer may add a
-- field inside a subtree someone else wrote, or write a field's current
-- value, but not change or remove one. A same-value write keeps the owner.
-- mode "insert": value goes into a list before the entry at keys[n] (whose
-- writers shift_owners moved on); "remove": the entry at keys[n] leaves its
-- list (shift_owners then moves the writers of the entries after it).
local function track(root, keys, n, value, mode)
	if not tracking or not writer then return end
	local own = owners[root]
	if not own then own = {}; owners[root] = own end
	local any = next(own) ~= nil
	-- Walk down: the current value, the path, and the nearest recorded writer.
	local cur, path = root, ""
	local prev, prev_at, prev_val
	for i = 1, n do
		local k = keys[i]
		path = child_path(path, k)
		if type(cur) == "table" then cur = cur[k] else cur = nil end
		if any then
			local m = own[path]
			if m then prev, prev_at, prev_val = m, i, cur end
		end
	end
	if mode == "insert" then cur = nil end
	local exact = prev_at == n
	if prev == nil and cur ~= nil and not workload_of[root] then prev, exact = emitter[root], true end
	local same = same_value(cur, value)
	if prev and prev ~= writer.name and not same and not may_override(path)
		and (exact or cur ~= nil or type(prev_val) ~= "table") then
		conflict(root, path, prev, type(cur) == "table" and "a different value" or cur,
			type(value) == "table" and "a different value" or value)
	end
	-- A write over a whole subtree replaces what others wrote inside it.
	if type(cur) == "table" and any then
		local prefix = path
		for p, m in pairs(own) do
			if #p > #prefix and ssub(p, 1, #prefix) == prefix
				and (ssub(p, #prefix + 1, #prefix + 1) == "." or ssub(p, #prefix + 1, #prefix + 1) == "[")
				and not same then
				if m ~= writer.name and not may_override(path) then
					conflict(root, p, m, "a value", "a different value")
				end
				own[p] = nil   -- replaced: the new owner is this write's
			end
		end
	end
	if mode ~= "remove" and not (prev and prev ~= writer.name and same) then own[path] = writer.name end
	if workload_of[root] and in_pod_template(path) then
		disruptive[writer.name] = true
	end
end

-- After an insert into (delta 1) or a removal from (delta -1) the list at
-- keys[1..n] of root, before its 1-based index `at`: the writers recorded
-- for its entries from `at` on move with them (a removed entry's are gone).
local function shift_owners(root, keys, n, at, delta)
	local own = owners[root]
	if not tracking or not own or next(own) == nil then return end
	local head = path_key(keys, n) .. "["
	local moved = {}
	for p, m in pairs(own) do
		if ssub(p, 1, #head) == head then
			local idx, rest = smatch(p, "^(%d+)(%].*)$", #head + 1)
			idx = idx and tonumber(idx) + 1
			if idx and idx >= at then
				own[p] = nil
				if delta > 0 or idx > at then moved[#moved + 1] = { head .. (idx - 1 + delta) .. rest, m } end
			end
		end
	end
	for _, e in ipairs(moved) do own[e[1]] = e[2] end
end

function oam._track_writer(name, overrides) writer = name and { name = name, overrides = overrides } or nil end
function oam._track_emitted(obj, name, is_workload)
	obj = real_of[obj] or obj
	emitter[obj] = name
	if is_workload then workload_of[obj] = true end
end
function oam._track_enable(on) tracking = on end
function oam._owners(obj) obj = real_of[obj] or obj; return owners[obj] or {}, emitter[obj] end
function oam._disruptive(name) return disruptive[name] == true end

local function target_table(obj)
	local t = unview(obj)
	if type(t) ~= "table" then error("the target of a patch must be an object (a table)", 3) end
	return t
end

function oam.set(obj, path, value)
	local t = target_table(obj)
	local keys = split_path(path)
	for i = 1, #keys - 1 do
		local k = keys[i]
		local nxt = t[k]
		if nxt == nil or nxt == NULL then
			nxt = type(keys[i + 1]) == "number" and oam.array() or {}
			t[k] = nxt
		elseif type(nxt) ~= "table" then
			error(sfmt("cannot set '%s': '%s' is a %s, not a map or list", path_text(keys),
				path_text(keys, i), type(nxt)), 2)
		end
		t = nxt
	end
	local last = keys[#keys]
	value = copy(value)
	track(target_table(obj), keys, #keys, value)
	t[last] = value
	return obj
end

-- A merge patch value where there is no map to merge it into: RFC 7396
-- merges it into an empty map, so a map loses its null members (deeply);
-- anything else, lists included, is copied as it is.
local function patch_value(v)
	v = unview(v)
	if type(v) ~= "table" or oam.is_array(v) then return copy(v) end
	local r = {}
	for k, x in pairs(v) do
		x = unview(x)
		if x ~= NULL then r[k] = patch_value(x) end
	end
	return r
end

-- RFC 7396 JSON merge patch: maps merge recursively (an empty map changes
-- nothing), null deletes, anything else (lists included) replaces.
local function merge(root, t, patch, keys)
	for k, v in pairs(unview(patch)) do
		v = unview(v)
		keys[#keys + 1] = k
		if v == NULL then
			track(root, keys, #keys, nil)
			t[k] = nil
		elseif type(v) == "table" and not oam.is_array(v)
			and type(t[k]) == "table" and not oam.is_array(t[k]) then
			merge(root, t[k], v, keys)
		else
			local c = patch_value(v)
			track(root, keys, #keys, c)
			t[k] = c
		end
		keys[#keys] = nil
	end
end

function oam.merge(obj, patch)
	if type(patch) ~= "table" then error("oam.merge needs a table as the patch", 2) end
	local root = target_table(obj)
	merge(root, root, patch, {})
	return obj
end

-- oam.merge of `patch` at `path` ("spec.template.spec"; "" is the object
-- itself), creating the maps on the way: the patch is nested under the
-- path's keys, so it merges, deletes and is tracked exactly as a whole one.
function oam.merge_at(obj, path, patch)
	local keys = path == "" and {} or split_path(path)
	for i = #keys, 1, -1 do
		if type(keys[i]) ~= "string" then
			error(sfmt("oam.merge_at: '%s' must name map keys only (no [index])", path_text(keys)), 2)
		end
		patch = { [keys[i]] = patch }
	end
	if type(patch) ~= "table" then error("oam.merge_at needs a table as the patch", 2) end
	local root = target_table(obj)
	merge(root, root, patch, {})
	return obj
end

-- Merges a list of maps into the list at `path`, matching entries by `key`
-- (a field name, or a list of field names that together identify an entry):
-- matching entries are merged (RFC 7396), others are appended in order.
function oam.merge_by_key(obj, path, key, items)
	local t = target_table(obj)
	local keys = split_path(path)
	local list = oam.get(t, keys)
	if list == nil then
		oam.set(t, keys, oam.array())
		list = oam.get(t, keys)
	end
	list = unview(list)
	if type(list) ~= "table" then error(sfmt("'%s' is not a list", path_text(keys)), 2) end
	local fields = type(key) == "table" and key or { key }
	local keyset = {}
	for _, f in ipairs(fields) do keyset[f] = true end
	local function same(a, b)
		for _, f in ipairs(fields) do
			if a[f] == nil or a[f] ~= b[f] then return false end
		end
		return true
	end
	for _, item in ipairs(unview(items)) do
		item = unview(item)
		local found, at
		for i, e in ipairs(list) do
			if type(e) == "table" and same(e, item) then found, at = e, i break end
		end
		local ekeys = {}
		for i = 1, #keys do ekeys[i] = keys[i] end
		if found then
			-- The key fields are equal by construction: not a write.
			local rest = {}
			for k, v in pairs(item) do
				if not keyset[k] then rest[k] = v end
			end
			ekeys[#ekeys + 1] = at
			merge(t, found, rest, ekeys)
		else
			ekeys[#ekeys + 1] = #list + 1
			local c = copy(item)
			track(t, ekeys, #ekeys, c)
			list[#list + 1] = c
		end
	end
	return obj
end

-- RFC 6902 JSON patch (add, remove, replace, move, copy, test) with JSON
-- pointer paths ("/spec/replicas", "/spec/template/spec/containers/0").
local function pointer(p)
	if p == "" then return {} end
	if ssub(p, 1, 1) ~= "/" then error(sfmt("invalid JSON pointer '%s'", p), 4) end
	local keys = {}
	for part in (ssub(p, 2) .. "/"):gmatch("([^/]*)/") do
		part = part:gsub("~1", "/"):gsub("~0", "~")
		keys[#keys + 1] = part
	end
	return keys
end

local function resolve_parent(t, keys, op)
	for i = 1, #keys - 1 do
		local k = keys[i]
		if oam.is_array(t) or (getmetatable(t) == ARRAY) then k = tonumber(k) and tonumber(k) + 1 or k end
		t = t[k]
		if type(t) ~= "table" then error(sfmt("json patch %s: path not found", op), 4) end
	end
	local last = keys[#keys]
	if oam.is_array(t) or getmetatable(t) == ARRAY then
		if last == "-" then last = #t + 1 else last = tonumber(last) and tonumber(last) + 1 end
		if not last then error(sfmt("json patch %s: list index expected", op), 4) end
		return t, last, true
	end
	return t, last, false
end

-- The keys of a JSON pointer as the tracker names them: list indexes as
-- 1-based numbers ("/spec/containers/0/image" -> spec, containers, 1, image).
local function tracked_keys(root, keys)
	local out, t = {}, root
	for i, k in ipairs(keys) do
		if type(t) == "table" and (oam.is_array(t) or getmetatable(t) == ARRAY) then
			k = k == "-" and #t + 1 or (tonumber(k) and tonumber(k) + 1 or k)
		end
		out[i] = k
		t = type(t) == "table" and t[k] or nil
	end
	return out
end

-- Removes parent[k] (an entry of a list when isarr, the later entries
-- moving up) and records it; tkeys is its tracked path.
local function remove_at(root, parent, k, isarr, tkeys)
	if isarr then
		track(root, tkeys, #tkeys, nil, "remove")
		table.remove(parent, k)
		shift_owners(root, tkeys, #tkeys - 1, k, -1)
	else
		track(root, tkeys, #tkeys, nil)
		parent[k] = nil
	end
end

-- Puts v at parent[k]: inserted before the entry there when insert (a
-- list), else set; recorded at tkeys.
local function put_at(root, parent, k, insert, tkeys, v)
	if insert then
		shift_owners(root, tkeys, #tkeys - 1, k, 1)
		track(root, tkeys, #tkeys, v, "insert")
		table.insert(parent, k, v)
	else
		track(root, tkeys, #tkeys, v)
		parent[k] = v
	end
end

function oam.json_patch(obj, ops)
	local root = target_table(obj)
	for i, o in ipairs(unview(ops)) do
		o = unview(o)
		local op = o.op
		local keys = pointer(o.path or "")
		if #keys == 0 then error(sfmt("json patch operation %d: cannot patch the whole object", i), 2) end
		if op == "test" then
			local parent, k = resolve_parent(root, keys, op)
			if not same_value(parent[k], unview(o.value)) then
				error(sfmt("json patch test failed at '%s'", o.path), 2)
			end
		elseif op == "add" or op == "replace" or op == "remove" then
			local parent, k, isarr = resolve_parent(root, keys, op)
			local tkeys = tracked_keys(root, keys)
			if op ~= "add" and parent[k] == nil then error(sfmt("json patch %s: '%s' does not exist", op, o.path), 2) end
			if op == "remove" then
				remove_at(root, parent, k, isarr, tkeys)
			else
				put_at(root, parent, k, isarr and op == "add", tkeys, copy(o.value))
			end
		elseif op == "move" or op == "copy" then
			local fkeys = pointer(o.from or "")
			local fp, fk, farr = resolve_parent(root, fkeys, op)
			local v = fp[fk]
			if v == nil then error(sfmt("json patch %s: '%s' does not exist", op, o.from), 2) end
			if op == "move" then
				-- Removed first: the path is resolved in the object without it (RFC 6902 4.4).
				if ssub(o.path, 1, #o.from + 1) == o.from .. "/" then
					error(sfmt("json patch move: cannot move '%s' into itself", o.from), 2)
				end
				remove_at(root, fp, fk, farr, tracked_keys(root, fkeys))
			else
				v = copy(v)
			end
			local parent, k, isarr = resolve_parent(root, keys, op)
			put_at(root, parent, k, isarr, tracked_keys(root, keys), v)
		else
			error(sfmt("json patch operation %d: unknown op '%s'", i, tostring(op)), 2)
		end
	end
	return obj
end

---------------------------------------------------------------------------
-- Names.
local function fnv1a(s)
	local h = 2166136261
	for i = 1, #s do
		h = h ~ s:byte(i)
		h = (h * 16777619) & 0xffffffff
	end
	return h
end

-- Joins parts with "-" into a valid DNS-1123 label (lowercase, [a-z0-9-],
-- at most 63 characters). A name that must be shortened keeps its start and
-- gets a short hash of the whole, so distinct inputs stay distinct.
function oam.name(...)
	local parts = {}
	for i = 1, select("#", ...) do
		local p = select(i, ...)
		if p ~= nil and p ~= "" then parts[#parts + 1] = tostring(p) end
	end
	local full = tconcat(parts, "-")
	if #full <= 63 and smatch(full, "^[a-z0-9][-a-z0-9]*$") and ssub(full, -1) ~= "-" then
		return full
	end
	local s = slower(full):gsub("[^a-z0-9-]", "-"):gsub("^-+", ""):gsub("-+$", "")
	if #s <= 63 and s == full then return s end
	if #s > 63 then
		s = ssub(s, 1, 54):gsub("-+$", "") .. "-" .. sfmt("%08x", fnv1a(full))
	end
	if s == "" then error(sfmt("cannot build a name from '%s'", full), 2) end
	return s
end

-- A DNS-1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric.
-- (Lua patterns have no optional groups, hence the explicit checks.)
local function dns_label(s)
	return #s >= 1 and #s <= 63 and smatch(s, "^[a-z0-9-]+$") ~= nil
		and smatch(s, "^[a-z0-9]") ~= nil and smatch(s, "[a-z0-9]$") ~= nil
end

function oam.is_dns_label(s)
	return type(s) == "string" and dns_label(s)
end

function oam.is_dns_subdomain(s)
	if type(s) ~= "string" or #s < 1 or #s > 253 then return false end
	for part in (s .. "."):gmatch("([^.]*)%.") do
		if not dns_label(part) then return false end
	end
	return true
end

-- The name part of a label or annotation key, and a non-empty label value:
-- 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends.
local function qualified_name(s)
	return #s >= 1 and #s <= 63 and sfind(s, "^%w") ~= nil and sfind(s, "%w$") ~= nil
		and not sfind(s, "[^%w%-_%.]")
end

-- Why k is not a valid label or annotation key ([prefix/]name, the prefix
-- a DNS subdomain); nil when it is.
function oam.label_key_problem(k)
	local prefix, name = smatch(k, "^(.*)/(.*)$")
	if not prefix then name = k end
	if prefix and not oam.is_dns_subdomain(prefix) then
		return sfmt("key '%s': prefix '%s' is not a DNS subdomain", k, prefix)
	end
	if not qualified_name(name) then
		return sfmt("key '%s': name '%s' must be 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends", k, name)
	end
	return nil
end

-- An IntOrString count such as maxUnavailable: a whole number >= 0 or a
-- percentage from "0%" to "100%".
function oam.is_int_or_percent(v)
	if mtype(v) == "integer" then return v >= 0 end
	return type(v) == "string" and smatch(v, "^%d+%%$") ~= nil and tonumber(ssub(v, 1, -2)) <= 100
end

-- A label value: empty, or 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends.
function oam.is_label_value(v)
	return type(v) == "string" and (v == "" or qualified_name(v))
end

-- Where the pod template of a workload object is: "spec.template",
-- "spec.jobTemplate.spec.template" (a CronJob), or "" for a Pod (its own
-- metadata and spec, as the podman target renders Tasks). nil when it has
-- none, or an error naming the object when `required`.
function oam.pod_template_path(obj, required)
	if oam.get(obj, "spec.jobTemplate.spec.template") ~= nil then return "spec.jobTemplate.spec.template" end
	if oam.get(obj, "spec.template") ~= nil then return "spec.template" end
	if oam.get(obj, "kind") == "Pod" then return "" end
	if required then
		error(sfmt("%s '%s' has no pod template", tostring(oam.get(obj, "kind")), tostring(oam.get(obj, "metadata.name"))), 2)
	end
	return nil
end

---------------------------------------------------------------------------
-- Label sets: oam.labels(a, b, ...) merges maps left to right (later wins)
-- into a new table; nil arguments are skipped.
function oam.labels(...)
	local r = {}
	for i = 1, select("#", ...) do
		local t = select(i, ...)
		if t ~= nil then
			for k, v in pairs(unview(t)) do r[k] = v end
		end
	end
	return r
end

---------------------------------------------------------------------------
-- Quantities.
local BIN = { Ki = 2^10, Mi = 2^20, Gi = 2^30, Ti = 2^40, Pi = 2^50, Ei = 2^60 }
local DEC = { n = 1e-9, u = 1e-6, m = 1e-3, [""] = 1, k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15, E = 1e18 }

-- Parses a Kubernetes quantity ("100m", "1.5", "128Mi", "1e3") to a number;
-- nil and a reason when it is not one.
function oam.parse_quantity(q)
	if mtype(q) then return q end
	if type(q) ~= "string" then return nil, "a quantity must be a string or a number" end
	local num, suffix = smatch(q, "^([+-]?%d*%.?%d+)([a-zA-Z]*)$")
	if not num then
		num, suffix = smatch(q, "^([+-]?%d+%.?%d*[eE][+-]?%d+)()$")
		if num then suffix = "" end
	end
	if not num then return nil, sfmt("'%s' is not a quantity", q) end
	local n = tonumber(num)
	local mul = BIN[suffix] or DEC[suffix]
	if not mul then return nil, sfmt("'%s' has an unknown unit '%s'", q, suffix) end
	return n * mul
end

-- OAM memory ("128", "5M", "5MB", "15k", "1Gi") to a Kubernetes quantity.
-- OAM units are case-insensitive and may end in B; a bare number is read as
-- MiB, as Rudr did (a few bytes of memory is never what an author meant).
function oam.memory(v)
	if mtype(v) then return sfmt("%dMi", floor(v)) end
	if type(v) ~= "string" then error("memory must be a string like \"128\" or \"512Mi\"", 2) end
	local num, unit = smatch(v, "^%s*(%d+%.?%d*)%s*([a-zA-Z]*)%s*$")
	if not num then error(sfmt("memory '%s' is not a quantity (expected e.g. \"128\", \"5M\", \"1Gi\")", v), 2) end
	if unit == "" then return num .. "Mi" end
	if BIN[unit] then return num .. unit end
	local u = unit:upper():gsub("B$", "")
	local map = { [""] = "", K = "k", M = "M", G = "G", T = "T", P = "P", E = "E",
		KI = "Ki", MI = "Mi", GI = "Gi", TI = "Ti", PI = "Pi", EI = "Ei" }
	if map[u] == nil then error(sfmt("memory '%s' has an unknown unit '%s'", v, unit), 2) end
	return num .. map[u]
end

-- OAM cpu (0.5, "0.5", "500m", 2) to a Kubernetes quantity ("500m", "2").
function oam.cpu(v)
	local n = v
	if type(v) == "string" then
		if smatch(v, "^%d+m$") then return v end
		n = tonumber(v)
		if not n then error(sfmt("cpu '%s' is not a number or a quantity like \"500m\"", v), 2) end
	elseif not mtype(v) then
		error("cpu must be a number or a quantity string", 2)
	end
	if n <= 0 then error(sfmt("cpu must be greater than 0, got %s", tostring(v)), 2) end
	if mtype(n) == "integer" or n == floor(n) then return sfmt("%d", floor(n)) end
	local milli = n * 1000
	if milli ~= floor(milli) then milli = floor(milli) + 1 end   -- round up, as the spec asks
	return sfmt("%dm", floor(milli))
end

---------------------------------------------------------------------------
-- Structured failure from a module: oam.fail("servicePort %d is not exposed", p)
function oam.fail(fmt, ...)
	error(sfmt(fmt, ...), 2)
end

-- The object a trait works on: the workload when kind is nil, else the one
-- object of the instance rendered so far with that kind (and name). Fails
-- at the caller's line, listing what the instance has, when there is no
-- such object or more than one.
function oam.instance_object(ctx, kind, name)
	if not kind then return ctx.output end
	local found, all = {}, {}
	for _, obj in ipairs(ctx.outputs) do
		all[#all + 1] = sfmt("%s '%s'", tostring(obj.kind), tostring(obj.metadata and obj.metadata.name))
		if obj.kind == kind and (not name or obj.metadata.name == name) then found[#found + 1] = obj end
	end
	if #found == 1 then return found[1] end
	if #found == 0 then
		error(sfmt("the instance has no %s%s to patch (it has: %s)", kind, name and " '" .. name .. "'" or "",
			tconcat(all, ", ")), 2)
	end
	error(sfmt("the instance has %d objects of kind %s: give name to choose one", #found, kind), 2)
end

-- Sorted keys of a map (deterministic iteration).
function oam.sorted_keys(t)
	local ks = {}
	for k in pairs(unview(t)) do ks[#ks + 1] = k end
	tsort(ks, function(a, b) return tostring(a) < tostring(b) end)
	return ks
end

oam._unview = unview
return oam
