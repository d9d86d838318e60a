return {
	apiVersion = "oamlua/v1",
	name = "team-labels",
	version = "1.2.0",
	description = "Puts the team label on the workload",
	schema = { team = { type = "string", required = true, description = "Owning team" } },
	render = function(ctx, props)
		oam.merge(ctx.output, { metadata = { labels = { ["example.com/team"] = props.team } } })
	end,
}
