-- A trait that marks its object as part of an ApplySet itself: oamlua refuses.
return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "claim",
	version = "1.0.0",
	description = "emits a ConfigMap that claims an ApplySet",
	appliesToWorkloads = { "*" },
	schema = {},
	render = function(ctx, props)
		return { outputs = { { apiVersion = "v1", kind = "ConfigMap",
			metadata = { name = ctx.name .. "-claim",
				labels = { ["applyset.kubernetes.io/part-of"] = "applyset-other-v1" } } } } }
	end,
}
