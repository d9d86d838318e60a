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
	targets = { "kubernetes", "podman" },
	schema = {
		replicaCount = { type = "integer", required = true, min = 0,
			description = "Number of replicas to run" },
	},

	validate = function(ctx, props)
		if ctx.target == "podman" and ctx.workloadType == "Task" and props.replicaCount ~= 1 then
			return { { property = "replicaCount", message = string.format(
				"on podman a Task runs as one pod: it cannot run %d in parallel", props.replicaCount) } }
		end
		if ctx.target == "podman" and #ctx.ports > 0 and props.replicaCount > 1 then
			return { { property = "replicaCount", message = string.format(
				"on podman, replicas of '%s' would share its host ports: it can run only 1 (asked for %d)",
				ctx.name, props.replicaCount) } }
		end
	end,

	render = function(ctx, props)
		if ctx.output.kind == "Pod" then
			return   -- podman's single pod: validate allowed only 1
		elseif ctx.output.kind == "Job" then
			oam.set(ctx.output, "spec.parallelism", props.replicaCount)
		else
			oam.set(ctx.output, "spec.replicas", props.replicaCount)
		end
	end,
}
