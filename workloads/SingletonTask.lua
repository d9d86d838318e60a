-- SingletonTask: a run-to-completion job with exactly one replica.
-- Renders a batch/v1 Job with parallelism 1 and completions 1.
return {
	apiVersion = "oamlua/v1",
	kind = "Workload",
	name = "SingletonTask",
	type = "core.oam.dev/v1alpha1.SingletonTask",
	version = "1.0.0",
	description = "Single run-to-completion job (Job, one pod)",
	containers = "required",
	targets = { "kubernetes", "podman" },

	render = function(ctx, spec)
		if ctx.target == "podman" then
			-- podman plays Pods, not Jobs: one pod that is not restarted.
			local t = oam.pod_template(ctx, spec, { restartPolicy = "Never" })
			return { output = { apiVersion = "v1", kind = "Pod",
				metadata = { name = ctx.name, labels = t.metadata.labels, annotations = t.metadata.annotations },
				spec = t.spec }, outputs = oam.config_maps(ctx, spec) }
		end
		return {
			output = {
				apiVersion = "batch/v1",
				kind = "Job",
				metadata = { name = ctx.name },
				spec = {
					parallelism = 1,
					completions = 1,
					backoffLimit = 4,
					template = oam.pod_template(ctx, spec, { restartPolicy = "Never" }),
				},
			},
			outputs = oam.config_maps(ctx, spec),
		}
	end,
}
