-- json-merge-patch: the escape hatch for what no trait covers. Applies an
-- RFC 7396 JSON merge patch to the workload object (or to another object of
-- the instance, chosen by kind and name): maps merge, null deletes a field,
-- lists are replaced whole.
--
-- It applies to every workload type and conflicts with no trait: what it
-- changes is only known from the patch. It may override what traits listed
-- before it set (that is what it is for); list it last. It cannot change an
-- object's apiVersion, kind or name, which other objects refer to.

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "json-merge-patch",
	version = "1.0.0",
	description = "Escape hatch: RFC 7396 merge patch of the workload or another object (overrides earlier traits)",
	appliesToWorkloads = { "*" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	overrides = true,
	schema = {
		patch = { type = "object", required = true,
			description = "The merge patch: maps merge, null deletes a field, lists replace the whole list" },
		kind = { type = "string", description = "Patch the instance's object of this kind instead of the workload, e.g. Service" },
		name = { type = "string", description = "With kind: the object's name, when the instance has several of that kind" },
	},

	validate = function(ctx, props)
		local problems = {}
		if next(props.patch) == nil then problems[#problems + 1] = { property = "patch", message = "the patch is empty" } end
		for _, k in ipairs({ "apiVersion", "kind" }) do
			if props.patch[k] ~= nil then
				problems[#problems + 1] = { property = "patch", message = string.format(
					"the patch cannot change %s: other objects refer to it", k) }
			end
		end
		local md = props.patch.metadata
		if type(md) == "table" and (md.name ~= nil or md.namespace ~= nil) then
			problems[#problems + 1] = { property = "patch", message =
				"the patch cannot change metadata.name or metadata.namespace: other objects refer to them" }
		end
		if props.name and not props.kind then
			problems[#problems + 1] = { property = "name", message = "name needs kind" }
		end
		return problems
	end,

	render = function(ctx, props)
		oam.merge(oam.instance_object(ctx, props.kind, props.name), props.patch)
	end,
}
