-- SingletonServer: a service with at most one replica and a stable endpoint.
-- Renders an apps/v1 StatefulSet (replicas 1, so never two at once) and a
-- v1 Service, which is also the StatefulSet's governing service.
return {
	apiVersion = "oamlua/v1",
	kind = "Workload",
	name = "SingletonServer",
	type = "core.oam.dev/v1alpha1.SingletonServer",
	version = "1.0.0",
	description = "Single-replica long-running service with a network endpoint (StatefulSet + Service)",
	ports = "required",
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
		local sts = {
			apiVersion = "apps/v1",
			kind = "StatefulSet",
			metadata = { name = ctx.name },
			spec = {
				replicas = 1,
				serviceName = ctx.name,
				selector = oam.selector(ctx),
				template = oam.pod_template(ctx, spec),
			},
		}
		local outputs = oam.config_maps(ctx, spec)
		outputs[#outputs + 1] = oam.service(ctx, spec)
		return { output = sts, outputs = outputs }
	end,
}
