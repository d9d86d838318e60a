return {
	apiVersion = "oamlua/v1",
	name = "spinner",
	version = "1.0.0",
	description = "never finishes",
	render = function(ctx, props)
		local n = 0
		while true do
			n = n + 1
		end
	end,
}
