-- SingletonWorker: a long-running process with at most one replica that
-- serves no traffic. Renders an apps/v1 StatefulSet with replicas 1.
return {
	apiVersion = "oamlua/v1",
	kind = "Workload",
	name = "SingletonWorker",
	type = "core.oam.dev/v1alpha1.SingletonWorker",
	version = "1.0.0",
	description = "Single-replica long-running process without a network endpoint (StatefulSet)",
	ports = "forbidden",
	containers = "required",
	targets = { "kubernetes", "podman" },

	render = function(ctx, spec)
		if ctx.target == "podman" then
			-- podman runs Deployments, not StatefulSets: one replica of one.
			return { output = {
				apiVersion = "apps/v1", kind = "Deployment", metadata = { name = ctx.name },
				spec = { replicas = 1, selector = oam.selector(ctx), template = oam.pod_template(ctx, spec) },
			}, outputs = oam.config_maps(ctx, spec) }
		end
		return {
			output = {
				apiVersion = "apps/v1",
				kind = "StatefulSet",
				metadata = { name = ctx.name },
				spec = {
					replicas = 1,
					serviceName = ctx.name,
					selector = oam.selector(ctx),
					template = oam.pod_template(ctx, spec),
				},
			},
			outputs = oam.config_maps(ctx, spec),
		}
	end,
}
