return {
	apiVersion = "oamlua/v1",
	name = "hoarder",
	version = "1.0.0",
	description = "keeps everything",
	render = function(ctx, props)
		local t = {}
		for i = 1, 1000000 do
			t[i] = string.rep("x", 64) .. i
		end
		return { outputs = {} }
	end,
}
