return {
	apiVersion = "oamlua/v1",
	name = "cost-center",
	version = "1.0.0",
	description = "Puts the cost center label on the workload",
	schema = { center = { type = "string", required = true, description = "Cost center" } },
	render = function(ctx, props)
		oam.merge(ctx.output, { metadata = { labels = { ["example.com/cost-center"] = props.center } } })
	end,
}
