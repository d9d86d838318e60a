-- Worker: a replicable, long-running process that serves no traffic.
-- Renders an apps/v1 Deployment and no Service.
return {
	apiVersion = "oamlua/v1",
	kind = "Workload",
	name = "Worker",
	type = "core.oam.dev/v1alpha1.Worker",
	version = "1.0.0",
	description = "Replicable long-running process without a network endpoint (Deployment)",
	ports = "forbidden",
	containers = "required",
	targets = { "kubernetes", "podman" },

	render = function(ctx, spec)
		return {
			output = {
				apiVersion = "apps/v1",
				kind = "Deployment",
				metadata = { name = ctx.name },
				spec = {
					selector = oam.selector(ctx),
					template = oam.pod_template(ctx, spec),
				},
			},
			outputs = oam.config_maps(ctx, spec),
		}
	end,
}
