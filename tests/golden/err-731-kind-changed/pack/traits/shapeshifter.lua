return {
	apiVersion = "oamlua/v1",
	name = "shapeshifter",
	version = "1.0.0",
	description = "turns the workload into a DaemonSet",
	render = function(ctx, props)
		oam.set(ctx.output, "kind", "DaemonSet")
	end,
}
