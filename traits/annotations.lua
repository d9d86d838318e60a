-- annotations: adds annotations to the workload object and its pods and,
-- when asked, to every other object of the instance rendered before it.
-- Pod annotations are where most tools look (prometheus.io/scrape,
-- sidecar injectors); object annotations are for tools that read the
-- workload (deployment.kubernetes.io/*, argocd.argoproj.io/*).

-- A DNS-1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends. (Local:
-- oam.is_dns_label's pattern puts "?" after a group, which Lua patterns do
-- not support, so it refuses every valid name.)
local function is_dns_label(s)
	return #s >= 1 and #s <= 63 and s:find("^[a-z0-9]") ~= nil and s:find("[a-z0-9]$") ~= nil
		and not s:find("[^a-z0-9%-]")
end

-- A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
local function is_dns_subdomain(s)
	if #s < 1 or #s > 253 then return false end
	for part in (s .. "."):gmatch("([^.]*)%.") do
		if not is_dns_label(part) then return false end
	end
	return true
end

-- A Kubernetes name part: 1..63 of [A-Za-z0-9-_.], alphanumeric at both ends.
local function is_name(s)
	return #s >= 1 and #s <= 63 and s:find("^%w") ~= nil and s:find("%w$") ~= nil and not s:find("[^%w%-_%.]")
end

-- An annotation key: [prefix/]name, the prefix a DNS subdomain.
local function key_problem(k)
	local prefix, name = k:match("^(.*)/(.*)$")
	if not prefix then name = k end
	if prefix and not is_dns_subdomain(prefix) then
		return string.format("key '%s': prefix '%s' is not a DNS subdomain", k, prefix)
	end
	if not is_name(name) then
		return string.format("key '%s': name '%s' must be 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends", k, name)
	end
end

-- The pod template of the workload object, if it has one: Deployment,
-- StatefulSet, DaemonSet, Job (spec.template) or CronJob (the cron trait).
local pod_template_path = oam.pod_template_path

-- A merge patch reaching `path` ("spec.template"): { spec = { template = v } }.
local function nest(path, v)
	local keys = {}
	for k in path:gmatch("[^.]+") do keys[#keys + 1] = k end
	for i = #keys, 1, -1 do v = { [keys[i]] = v } end
	return v
end

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
			local p = key_problem(k)
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
		if pod then oam.merge(ctx.output, nest(pod, patch)) end
		-- A CronJob (the cron trait): its Jobs too.
		if pod == "spec.jobTemplate.spec.template" then oam.merge(ctx.output, nest("spec.jobTemplate", patch)) end
	end,
}
