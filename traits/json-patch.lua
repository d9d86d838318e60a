-- json-patch: the escape hatch for what no trait covers, where a merge
-- patch is not enough (an item in the middle of a list, a test before a
-- change). Applies RFC 6902 JSON patch operations, in order, to the
-- workload object (or to another object of the instance, chosen by kind and
-- name). Paths are JSON pointers: /spec/template/spec/containers/0/image.
--
-- It applies to every workload type and conflicts with no trait: what it
-- changes is only known from the operations. It may override what traits
-- listed before it set (that is what it is for); list it last. It cannot
-- change an object's apiVersion, kind or name, which other objects refer to.

local PROTECTED = { ["/apiVersion"] = true, ["/kind"] = true, ["/metadata"] = true, ["/metadata/name"] = true,
	["/metadata/namespace"] = true, [""] = true }

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "json-patch",
	version = "1.0.0",
	description = "Escape hatch: RFC 6902 JSON patch operations on the workload or another object (overrides earlier traits)",
	appliesToWorkloads = { "*" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	overrides = true,
	schema = {
		operations = { type = "array", required = true, min = 1, description = "Operations, applied in order",
			items = { type = "object", properties = {
				op = { type = "string", required = true, enum = { "add", "remove", "replace", "move", "copy", "test" },
					description = "Operation" },
				path = { type = "string", required = true, description = "JSON pointer to the target location, e.g. /spec/replicas" },
				value = { type = "any", description = "add, replace, test: the value" },
				from = { type = "string", description = "move, copy: JSON pointer to the source location" },
			} } },
		kind = { type = "string", description = "Patch the instance's object of this kind instead of the workload, e.g. Service" },
		name = { type = "string", description = "With kind: the object's name, when the instance has several of that kind" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function add(fmt, ...)
			problems[#problems + 1] = { property = "operations", message = string.format(fmt, ...) }
		end
		for i, o in ipairs(props.operations) do
			local at = string.format("operations[%d] (%s %s)", i - 1, o.op, o.path)
			if o.path ~= "" and o.path:sub(1, 1) ~= "/" then
				add("%s: path must be a JSON pointer starting with '/'", at)
			elseif PROTECTED[o.path] and o.op ~= "test" then
				add("%s: cannot change %s: other objects refer to it", at, o.path == "" and "the whole object" or o.path)
			end
			local needs_value = o.op == "add" or o.op == "replace" or o.op == "test"
			if needs_value and o.value == nil then add("%s: %s needs a value", at, o.op) end
			if not needs_value and o.value ~= nil then add("%s: %s takes no value", at, o.op) end
			local needs_from = o.op == "move" or o.op == "copy"
			if needs_from and not o.from then add("%s: %s needs from", at, o.op) end
			if not needs_from and o.from then add("%s: %s takes no from", at, o.op) end
			if o.from and o.from:sub(1, 1) ~= "/" then add("%s: from must be a JSON pointer starting with '/'", at) end
			if o.op == "move" and o.from and PROTECTED[o.from] then add("%s: cannot move %s", at, o.from) end
		end
		if props.name and not props.kind then
			problems[#problems + 1] = { property = "name", message = "name needs kind" }
		end
		return problems
	end,

	render = function(ctx, props)
		oam.json_patch(oam.instance_object(ctx, props.kind, props.name), props.operations)
	end,
}
