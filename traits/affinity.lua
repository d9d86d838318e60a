-- affinity: where the pods may run. Node affinity by node labels — hard
-- (nodeLabels: only nodes with all of them) and soft (preferredNodeLabels)
-- — and pod anti-affinity that spreads the instance's replicas over nodes
-- or zones (soft by default; hard leaves pods Pending when there are more
-- replicas than nodes or zones).
--
-- For an even spread with a skew limit, see the topology-spread trait; the
-- two may be used together.

local TOPOLOGY = { nodes = "kubernetes.io/hostname", zones = "topology.kubernetes.io/zone" }
local SINGLE = { SingletonServer = true, SingletonWorker = true, SingletonTask = true }

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

-- Node selector requirements, one per label, in key order.
local function requirements(labels)
	local out = oam.array()
	for _, k in ipairs(oam.sorted_keys(labels)) do
		out[#out + 1] = { key = k, operator = "In", values = { labels[k] } }
	end
	return out
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "affinity",
	version = "1.0.0",
	description = "Node affinity by node labels; spreads replicas over nodes or zones (pod anti-affinity)",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	conflictsWith = {},
	schema = {
		nodeLabels = { type = "object",
			description = "Run only on nodes with all these labels: label → value" },
		preferredNodeLabels = { type = "object",
			description = "Prefer nodes with these labels (each label one preference): label → value" },
		preferredWeight = { type = "integer", default = 50, min = 1, max = 100,
			description = "Weight of each preferred node label against the scheduler's other scores" },
		spreadAcross = { type = "string", enum = { "nodes", "zones" },
			description = "Keep the instance's replicas on different nodes or zones (replicable workloads)" },
		spreadMode = { type = "string", default = "preferred", enum = { "preferred", "required" },
			description = "preferred: spread when possible; required: never two replicas on one node/zone (extra replicas stay Pending)" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function add(prop, fmt, ...)
			problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
		end
		for _, prop in ipairs({ "nodeLabels", "preferredNodeLabels" }) do
			for _, k in ipairs(oam.sorted_keys(props[prop] or {})) do
				if type(props[prop][k]) ~= "string" then
					add(prop, "label '%s' must be a string value (quote it)", k)
				end
			end
		end
		if props.spreadAcross and SINGLE[ctx.workloadType] then
			add("spreadAcross", "a %s runs one pod: there is nothing to spread", ctx.workloadType)
		end
		if not props.spreadAcross and next(props.nodeLabels or {}) == nil and next(props.preferredNodeLabels or {}) == nil then
			problems[#problems + 1] = "set nodeLabels, preferredNodeLabels or spreadAcross: this binding changes nothing"
		end
		return problems
	end,

	render = function(ctx, props)
		local aff = {}
		local node = {}
		if next(props.nodeLabels or {}) ~= nil then
			node.requiredDuringSchedulingIgnoredDuringExecution = {
				nodeSelectorTerms = { { matchExpressions = requirements(props.nodeLabels) } },
			}
		end
		if next(props.preferredNodeLabels or {}) ~= nil then
			local prefs = oam.array()
			for _, r in ipairs(requirements(props.preferredNodeLabels)) do
				prefs[#prefs + 1] = { weight = props.preferredWeight, preference = { matchExpressions = { r } } }
			end
			node.preferredDuringSchedulingIgnoredDuringExecution = prefs
		end
		if next(node) ~= nil then aff.nodeAffinity = node end
		if props.spreadAcross then
			local term = { labelSelector = { matchLabels = oam.copy(ctx.selector) },
				topologyKey = TOPOLOGY[props.spreadAcross] }
			if props.spreadMode == "required" then
				aff.podAntiAffinity = { requiredDuringSchedulingIgnoredDuringExecution = { term } }
			else
				aff.podAntiAffinity = { preferredDuringSchedulingIgnoredDuringExecution = {
					{ weight = 100, podAffinityTerm = term } } }
			end
		end
		oam.merge_at(ctx.output, pod_template_path(ctx.output) .. ".spec", { affinity = aff })
	end,
}
