-- Server: a replicable, long-running service with a stable network endpoint.
-- Renders an apps/v1 Deployment and a v1 Service exposing every container
-- port, plus a ConfigMap per container with config files.
return {
	apiVersion = "oamlua/v1",
	kind = "Workload",
	name = "Server",
	type = "core.oam.dev/v1alpha1.Server",
	version = "1.0.0",
	description = "Replicable long-running service with a network endpoint (Deployment + Service)",
	ports = "required",
	containers = "required",
	targets = { "kubernetes", "podman" },

	render = function(ctx, spec)
		local deployment = {
			apiVersion = "apps/v1",
			kind = "Deployment",
			metadata = { name = ctx.name },
			spec = {
				selector = oam.selector(ctx),
				template = oam.pod_template(ctx, spec),
			},
		}
		local outputs = oam.config_maps(ctx, spec)
		-- On podman the ports are published on the host instead of a Service.
		if ctx.target ~= "podman" then outputs[#outputs + 1] = oam.service(ctx, spec) end
		return { output = deployment, outputs = outputs }
	end,
}
