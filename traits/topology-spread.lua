-- topology-spread: spreads the instance's replicas evenly over topology
-- domains (zones, nodes, any node label) with pod topology spread
-- constraints: at most maxSkew more pods in one domain than in another.
-- Replicable workloads only: one pod has nothing to spread. The affinity
-- trait's spreadAcross (pod anti-affinity) is the coarser tool; the two may
-- be used together.

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "topology-spread",
	version = "1.0.0",
	description = "Spreads replicas evenly over zones, nodes or other domains (topologySpreadConstraints)",
	appliesToWorkloads = { "Server", "Worker", "Task" },
	conflictsWith = {},
	schema = {
		constraints = { type = "array", required = true, min = 1, description = "One entry per topology to spread over",
			items = { type = "object", properties = {
				topologyKey = { type = "string", default = "topology.kubernetes.io/zone",
					description = "Node label whose values are the domains: topology.kubernetes.io/zone, kubernetes.io/hostname, …" },
				maxSkew = { type = "integer", default = 1, min = 1,
					description = "Most pods one domain may have above the least-loaded one" },
				whenUnsatisfiable = { type = "string", default = "ScheduleAnyway", enum = { "ScheduleAnyway", "DoNotSchedule" },
					description = "ScheduleAnyway: prefer balance; DoNotSchedule: leave a pod Pending rather than exceed maxSkew" },
				minDomains = { type = "integer", min = 1,
					description = "DoNotSchedule only: treat fewer eligible domains than this as skew (spreads onto new zones)" },
			} } },
	},

	validate = function(ctx, props)
		local problems, seen = {}, {}
		for i, c in ipairs(props.constraints) do
			if seen[c.topologyKey] then
				problems[#problems + 1] = { property = "constraints", message = string.format(
					"constraints[%d]: topologyKey '%s' is listed twice", i - 1, c.topologyKey) }
			end
			seen[c.topologyKey] = true
			if c.minDomains and c.whenUnsatisfiable ~= "DoNotSchedule" then
				problems[#problems + 1] = { property = "constraints", message = string.format(
					"constraints[%d]: minDomains needs whenUnsatisfiable: DoNotSchedule", i - 1) }
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local list = oam.array()
		for _, c in ipairs(props.constraints) do
			list[#list + 1] = {
				topologyKey = c.topologyKey,
				maxSkew = c.maxSkew,
				whenUnsatisfiable = c.whenUnsatisfiable,
				minDomains = c.minDomains,
				labelSelector = { matchLabels = oam.copy(ctx.selector) },
			}
		end
		oam.set(ctx.output, pod_template_path(ctx.output) .. ".spec.topologySpreadConstraints", list)
	end,
}
