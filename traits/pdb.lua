-- pdb: limits how many of the component's pods voluntary disruptions
-- (node drains, cluster upgrades) may take down at once, with a policy/v1
-- PodDisruptionBudget selecting the instance's pods. Without a property it
-- allows one pod at a time to go (maxUnavailable: 1).
--
-- Replicable long-running workloads only: on a single pod a budget either
-- does nothing or blocks every node drain.

-- A value for messages: strings quoted.
local function show(v)
	return type(v) == "string" and string.format("%q", v) or tostring(v)
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "pdb",
	version = "1.0.0",
	description = "Limits pods taken down at once by drains and upgrades (PodDisruptionBudget)",
	appliesToWorkloads = { "Server", "Worker" },
	conflictsWith = { "cron" },
	schema = {
		minAvailable = { type = "any",
			description = "Pods that must stay available, a number or a percentage like \"50%\" (not with maxUnavailable)" },
		maxUnavailable = { type = "any",
			description = "Pods that may be down at once, a number or a percentage (default: 1 when minAvailable is not set)" },
		unhealthyPodEvictionPolicy = { type = "string", enum = { "IfHealthyBudget", "AlwaysAllow" },
			description = "Whether pods that are running but not ready may be evicted regardless of the budget (AlwaysAllow)" },
	},

	validate = function(ctx, props)
		local problems = {}
		if props.minAvailable ~= nil and props.maxUnavailable ~= nil then
			problems[#problems + 1] = { property = "maxUnavailable", message = "set minAvailable or maxUnavailable, not both" }
		end
		for _, k in ipairs({ "minAvailable", "maxUnavailable" }) do
			if props[k] ~= nil and not oam.is_int_or_percent(props[k]) then
				problems[#problems + 1] = { property = k, message = string.format(
					"%s must be a whole number or a percentage like \"50%%\", got %s", k, show(props[k])) }
			end
		end
		if props.maxUnavailable == 0 or props.maxUnavailable == "0%" or props.minAvailable == "100%" then
			problems[#problems + 1] = { property = props.minAvailable ~= nil and "minAvailable" or "maxUnavailable",
				message = "this budget allows no disruption at all: every node drain would block" }
		end
		return problems
	end,

	render = function(ctx, props)
		local spec = { selector = oam.selector(ctx), unhealthyPodEvictionPolicy = props.unhealthyPodEvictionPolicy }
		if props.minAvailable ~= nil then
			spec.minAvailable = props.minAvailable
		else
			spec.maxUnavailable = props.maxUnavailable or 1
		end
		return { outputs = { {
			apiVersion = "policy/v1",
			kind = "PodDisruptionBudget",
			metadata = { name = ctx.name },
			spec = spec,
		} } }
	end,
}
