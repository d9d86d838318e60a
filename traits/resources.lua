-- resources: sets compute resource requests and limits of containers by
-- name, over what the component declared (an operator's sizing for one
-- environment). Given keys replace the component's, the others are kept.

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

local QUANTITIES = { type = "object", additionalProperties = true,
	description = "cpu, memory, ephemeral-storage or an extended resource (nvidia.com/gpu) → quantity",
	properties = {
		cpu = { type = "string", description = "CPU, e.g. \"250m\" or \"1\"" },
		memory = { type = "string", description = "Memory, e.g. \"512Mi\"" },
		["ephemeral-storage"] = { type = "string", description = "Local scratch space, e.g. \"1Gi\"" },
	} }

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "resources",
	version = "1.0.0",
	description = "Sets CPU/memory requests and limits per container, over the component's",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	schema = {
		containers = { type = "array", required = true, min = 1, description = "One entry per container to size",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Container name (one of the component's)" },
				requests = QUANTITIES,
				limits = QUANTITIES,
			} } },
	},

	validate = function(ctx, props)
		local problems, seen = {}, {}
		local function add(fmt, ...)
			problems[#problems + 1] = { property = "containers", message = string.format(fmt, ...) }
		end
		for i, c in ipairs(props.containers) do
			local p = oam.unknown_container(ctx, c.name)
			if p then add("containers[%d]: %s", i - 1, p) end
			if seen[c.name] then add("containers[%d]: container '%s' is listed twice", i - 1, c.name) end
			seen[c.name] = true
			if next(c.requests) == nil and next(c.limits) == nil then
				add("containers[%d]: give requests or limits for '%s'", i - 1, c.name)
			end
			local parsed = { requests = {}, limits = {} }
			for _, kind in ipairs({ "requests", "limits" }) do
				for _, r in ipairs(oam.sorted_keys(c[kind])) do
					local q = c[kind][r]
					local n, why = nil, "must be a quantity like \"500m\" or \"1Gi\""
					if type(q) == "string" or math.type(q) then n, why = oam.parse_quantity(q) end
					if not n then
						add("containers[%d].%s.%s: %s", i - 1, kind, r, why)
					elseif n < 0 then
						add("containers[%d].%s.%s: must not be negative", i - 1, kind, r)
					end
					parsed[kind][r] = n
				end
			end
			for _, r in ipairs(oam.sorted_keys(parsed.requests)) do
				local lim = parsed.limits[r]
				if lim and parsed.requests[r] > lim then
					add("containers[%d]: %s request %s is above its limit %s", i - 1, r, c.requests[r], c.limits[r])
				end
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local list = pod_template_path(ctx.output) .. ".spec.containers"
		local items = {}
		for _, c in ipairs(props.containers) do
			local res = {}
			if next(c.requests) ~= nil then res.requests = c.requests end
			if next(c.limits) ~= nil then res.limits = c.limits end
			items[#items + 1] = { name = c.name, resources = res }
		end
		oam.merge_by_key(ctx.output, list, "name", items)
	end,
}
