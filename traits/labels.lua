-- labels: adds labels to the workload object and its pods and, unless told
-- otherwise, to every other object of the instance rendered before it (the
-- workload's Service and ConfigMaps, objects of traits listed earlier).
-- The keys the host owns (selectors, provenance) cannot be set.
local RESERVED_PREFIXES = { "app.oam.dev/", "workload.oam.dev/", "trait.oam.dev/", "scope.oam.dev/" }
local RESERVED_KEYS = { ["app.kubernetes.io/managed-by"] = true }

-- The pod template of the workload object, if it has one: Deployment,
-- StatefulSet, DaemonSet, Job (spec.template) or CronJob (the cron trait).
local pod_template_path = oam.pod_template_path

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "labels",
	version = "1.0.0",
	description = "Adds labels to the workload, its pods and the instance's other objects",
	-- Every object has metadata.labels; pods are labelled when the workload has a pod template.
	appliesToWorkloads = { "*" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	schema = {
		labels = { type = "object", required = true,
			description = "Labels to add: key → string value (app.oam.dev/*, workload.oam.dev/*, trait.oam.dev/* and app.kubernetes.io/managed-by are reserved)" },
		podTemplate = { type = "boolean", default = true,
			description = "Also label the pods, and a CronJob's Jobs (changes the pod template, so pods are replaced)" },
		allObjects = { type = "boolean", default = true,
			description = "Also label the instance's other objects rendered so far (Service, ConfigMaps, objects of traits listed before this one)" },
	},

	validate = function(ctx, props)
		local problems = {}
		for _, k in ipairs(oam.sorted_keys(props.labels)) do
			local v = props.labels[k]
			local p = oam.label_key_problem(k)
			if not p then
				for _, pre in ipairs(RESERVED_PREFIXES) do
					if k:sub(1, #pre) == pre then p = string.format("key '%s' is reserved: oamlua sets the %s* labels itself", k, pre) end
				end
				if RESERVED_KEYS[k] then p = string.format("key '%s' is reserved: oamlua sets it itself", k) end
			end
			if not p and type(v) ~= "string" then
				p = string.format("label '%s' must be a string, got %s (quote it: \"%s\")", k,
					v == oam.null and "null" or type(v), v == oam.null and "" or tostring(v))
			elseif not p and not oam.is_label_value(v) then
				p = string.format("label '%s': value '%s' must be at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends", k, v)
			end
			if p then problems[#problems + 1] = { property = "labels", message = p } end
		end
		if next(props.labels) == nil then
			problems[#problems + 1] = { property = "labels", message = "labels is empty: give at least one label" }
		end
		return problems
	end,

	render = function(ctx, props)
		local patch = { metadata = { labels = props.labels } }
		if props.allObjects then
			for _, obj in ipairs(ctx.outputs) do oam.merge(obj, patch) end
		else
			oam.merge(ctx.output, patch)
		end
		local pod = props.podTemplate and pod_template_path(ctx.output)
		if pod then oam.merge_at(ctx.output, pod, patch) end
		-- A CronJob (the cron trait): its Jobs too.
		if pod == "spec.jobTemplate.spec.template" then oam.merge_at(ctx.output, "spec.jobTemplate", patch) end
	end,
}
