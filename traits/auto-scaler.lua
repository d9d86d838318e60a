-- auto-scaler: scales a replicable service between a minimum and a maximum
-- by CPU and/or memory utilisation, with an autoscaling/v2
-- HorizontalPodAutoscaler targeting the workload.
return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "auto-scaler",
	version = "1.0.0",
	description = "Scales replicas between minimum and maximum on CPU/memory (HorizontalPodAutoscaler)",
	appliesToWorkloads = { "Server", "Worker" },
	conflictsWith = { "manual-scaler" },
	schema = {
		minimum = { type = "integer", default = 1, min = 1, description = "Fewest replicas" },
		maximum = { type = "integer", default = 10, min = 1, description = "Most replicas" },
		cpu = { type = "integer", min = 1, max = 100,
			description = "Target average CPU utilisation, percent of the request" },
		memory = { type = "integer", min = 1, max = 100,
			description = "Target average memory utilisation, percent of the request" },
	},

	validate = function(ctx, props)
		if props.minimum > props.maximum then
			return { { property = "minimum", message = string.format(
				"minimum (%d) is greater than maximum (%d)", props.minimum, props.maximum) } }
		end
	end,

	render = function(ctx, props)
		local metrics = oam.array()
		for _, name in ipairs({ "cpu", "memory" }) do
			if props[name] then
				metrics[#metrics + 1] = {
					type = "Resource",
					resource = { name = name, target = { type = "Utilization", averageUtilization = props[name] } },
				}
			end
		end
		local hpa = {
			apiVersion = "autoscaling/v2",
			kind = "HorizontalPodAutoscaler",
			metadata = { name = oam.name(ctx.name, "trait-autoscaler") },
			spec = {
				scaleTargetRef = { apiVersion = ctx.output.apiVersion, kind = ctx.output.kind,
					name = ctx.output.metadata.name },
				minReplicas = props.minimum,
				maxReplicas = props.maximum,
			},
		}
		if #metrics > 0 then hpa.spec.metrics = metrics end
		return { outputs = { hpa } }
	end,
}
