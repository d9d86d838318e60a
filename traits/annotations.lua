-- annotations: adds annotations to the workload object and its pods and,
-- when asked, to every other object of the instance rendered before it.
-- Pod annotations are where most tools look (prometheus.io/scrape,
-- sidecar injectors); object annotations are for tools that read the
-- workload (deployment.kubernetes.io/*, argocd.argoproj.io/*).

-- The pod template of the workload object, if it has one: Deployment,
-- StatefulSet, DaemonSet, Job (spec.template) or CronJob (the cron trait).
local pod_template_path = oam.pod_template_path

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "annotations",
	version = "1.0.0",
	description = "Adds annotations to the workload and its pods (and optionally the instance's other objects)",
	-- Every object has metadata.annotations; pods are annotated when the workload has a pod template.
	appliesToWorkloads = { "*" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	schema = {
		annotations = { type = "object", required = true,
			description = "Annotations to add: key → string value" },
		podTemplate = { type = "boolean", default = true,
			description = "Also annotate the pods, and a CronJob's Jobs (changes the pod template, so pods are replaced)" },
		allObjects = { type = "boolean", default = false,
			description = "Also annotate the instance's other objects rendered so far (Service, ConfigMaps, objects of traits listed before this one)" },
	},

	validate = function(ctx, props)
		local problems = {}
		for _, k in ipairs(oam.sorted_keys(props.annotations)) do
			local v = props.annotations[k]
			local p = oam.label_key_problem(k)
			if not p and type(v) ~= "string" then
				p = string.format("annotation '%s' must be a string, got %s (quote it: \"%s\")", k,
					v == oam.null and "null" or type(v), v == oam.null and "" or tostring(v))
			end
			if p then problems[#problems + 1] = { property = "annotations", message = p } end
		end
		if next(props.annotations) == nil then
			problems[#problems + 1] = { property = "annotations", message = "annotations is empty: give at least one annotation" }
		end
		return problems
	end,

	render = function(ctx, props)
		local patch = { metadata = { annotations = props.annotations } }
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
