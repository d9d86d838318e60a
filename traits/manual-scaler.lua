-- manual-scaler: sets the number of replicas of a replicable workload
-- (a Deployment's replicas; a Job's parallelism).
return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "manual-scaler",
	version = "1.0.0",
	description = "Sets a fixed number of replicas (Deployment replicas, Job parallelism)",
	appliesToWorkloads = { "Server", "Worker", "Task" },
	-- Both own the replica count: an HPA would fight a fixed count.
	conflictsWith = { "auto-scaler" },
	schema = {
		replicaCount = { type = "integer", required = true, min = 0,
			description = "Number of replicas to run" },
	},

	render = function(ctx, props)
		if ctx.output.kind == "Job" then
			oam.set(ctx.output, "spec.parallelism", props.replicaCount)
		else
			oam.set(ctx.output, "spec.replicas", props.replicaCount)
		end
	end,
}
