-- update-strategy: how a long-running workload replaces its pods on a
-- change. Deployments (Server, Worker): a rolling update with maxSurge and
-- maxUnavailable, or Recreate (all old pods stop first). StatefulSets
-- (SingletonServer, SingletonWorker): a rolling update from a partition
-- (pods with a lower ordinal keep the old version), or OnDelete (pods are
-- replaced only when deleted).

local DEPLOYMENT = { Server = true, Worker = true }

-- A value for messages: strings quoted.
local function show(v)
	return type(v) == "string" and string.format("%q", v) or tostring(v)
end

local function is_zero(v)
	return v == 0 or v == "0%"
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "update-strategy",
	version = "1.0.0",
	description = "Sets how pods are replaced on a change (rolling update surge/unavailable, partition, Recreate)",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker" },
	conflictsWith = { "cron" },
	schema = {
		type = { type = "string", default = "RollingUpdate", enum = { "RollingUpdate", "Recreate", "OnDelete" },
			description = "RollingUpdate (both), Recreate (Server, Worker) or OnDelete (SingletonServer, SingletonWorker)" },
		maxSurge = { type = "any",
			description = "Server, Worker: pods above the desired count during an update, a number or a percentage like \"25%\"" },
		maxUnavailable = { type = "any",
			description = "Server, Worker: pods that may be unavailable during an update, a number or a percentage like \"25%\"" },
		partition = { type = "integer", min = 0,
			description = "SingletonServer, SingletonWorker: only pods with an ordinal at least this are updated" },
		minReadySeconds = { type = "integer", min = 0,
			description = "Seconds a new pod must be ready before it counts as available (slows an update down)" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function add(prop, fmt, ...)
			problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
		end
		local deployment = DEPLOYMENT[ctx.workloadType]
		if props.type == "Recreate" and not deployment then
			add("type", "Recreate is for Deployments (Server, Worker); a %s is a StatefulSet: use RollingUpdate or OnDelete", ctx.workloadType)
		elseif props.type == "OnDelete" and deployment then
			add("type", "OnDelete is for StatefulSets (SingletonServer, SingletonWorker); a %s is a Deployment: use RollingUpdate or Recreate", ctx.workloadType)
		end
		for _, k in ipairs({ "maxSurge", "maxUnavailable" }) do
			local v = props[k]
			if v ~= nil then
				if not deployment then
					add(k, "%s is for Deployments (Server, Worker), not a %s", k, ctx.workloadType)
				elseif props.type ~= "RollingUpdate" then
					add(k, "%s needs type RollingUpdate", k)
				elseif not oam.is_int_or_percent(v) then
					add(k, "%s must be a whole number or a percentage like \"25%%\", got %s", k, show(v))
				end
			end
		end
		if props.maxSurge ~= nil and props.maxUnavailable ~= nil and is_zero(props.maxSurge) and is_zero(props.maxUnavailable) then
			add("maxUnavailable", "maxSurge and maxUnavailable cannot both be 0: the update could never make progress")
		end
		if props.partition ~= nil then
			if deployment then
				add("partition", "partition is for StatefulSets (SingletonServer, SingletonWorker), not a %s", ctx.workloadType)
			elseif props.type ~= "RollingUpdate" then
				add("partition", "partition needs type RollingUpdate")
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local kind = ctx.output.kind
		local field = kind == "Deployment" and "strategy" or kind == "StatefulSet" and "updateStrategy" or nil
		if not field then
			oam.fail("update-strategy needs a Deployment or a StatefulSet, but the workload is a %s", tostring(kind))
		end
		local ru
		if props.type == "RollingUpdate" then
			local r = { maxSurge = props.maxSurge, maxUnavailable = props.maxUnavailable, partition = props.partition }
			if next(r) ~= nil then ru = r end
		elseif oam.get(ctx.output, "spec." .. field .. ".rollingUpdate") ~= nil then
			ru = oam.null   -- Recreate and OnDelete take no rollingUpdate block
		end
		local patch = { spec = { minReadySeconds = props.minReadySeconds, [field] = { type = props.type, rollingUpdate = ru } } }
		oam.merge(ctx.output, patch)
	end,
}
