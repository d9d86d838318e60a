-- service-account: runs the pods as a Kubernetes ServiceAccount, an
-- existing one (name) or one this trait creates (create: true; named after
-- the instance unless name is given), e.g. to bind RBAC roles or a cloud
-- identity (annotations such as eks.amazonaws.com/role-arn).

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

-- A DNS-1123 subdomain: dot-separated labels of [a-z0-9-], at most 253
-- characters. (Local: oam.is_dns_subdomain's pattern puts "?" after a
-- group, which Lua patterns do not support, so it refuses valid names.)
local function is_dns_subdomain(s)
	if #s < 1 or #s > 253 then return false end
	for part in (s .. "."):gmatch("([^.]*)%.") do
		if #part < 1 or #part > 63 or not part:find("^[a-z0-9]") or not part:find("[a-z0-9]$")
			or part:find("[^a-z0-9%-]") then
			return false
		end
	end
	return true
end

local function account_name(ctx, props)
	return props.name or ctx.name
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "service-account",
	version = "1.0.0",
	description = "Runs the pods as a ServiceAccount, optionally creating it (ServiceAccount)",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	conflictsWith = {},
	schema = {
		name = { type = "string", description = "ServiceAccount name (default with create: the instance name; required without)" },
		create = { type = "boolean", default = false, description = "Create the ServiceAccount with the application" },
		automountToken = { type = "boolean",
			description = "Mount the account's API token into the pods (false for pods that never call the API)" },
		annotations = { type = "object", description = "create only: annotations of the ServiceAccount, e.g. a cloud identity" },
		imagePullSecrets = { type = "array", items = { type = "string" },
			description = "create only: Secrets the account's pods pull images with" },
	},

	validate = function(ctx, props)
		local problems = {}
		if not props.create and not props.name then
			problems[#problems + 1] = "name is required unless create: true (which names the account after the instance)"
		end
		if props.name and not is_dns_subdomain(props.name) then
			problems[#problems + 1] = { property = "name", message = string.format(
				"'%s' is not a valid ServiceAccount name (lowercase letters, digits, '-', '.')", props.name) }
		end
		if not props.create then
			if props.annotations and next(props.annotations) ~= nil then
				problems[#problems + 1] = { property = "annotations", message = "annotations needs create: true (this trait does not change an existing account)" }
			end
			if props.imagePullSecrets then
				problems[#problems + 1] = { property = "imagePullSecrets", message = "imagePullSecrets needs create: true (this trait does not change an existing account)" }
			end
		end
		for _, k in ipairs(oam.sorted_keys(props.annotations or {})) do
			if type(props.annotations[k]) ~= "string" then
				problems[#problems + 1] = { property = "annotations", message = string.format("annotation '%s' must be a string", k) }
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local name = account_name(ctx, props)
		local pod = pod_template_path(ctx.output) .. ".spec"
		oam.set(ctx.output, pod .. ".serviceAccountName", name)
		if props.automountToken ~= nil then
			oam.set(ctx.output, pod .. ".automountServiceAccountToken", props.automountToken)
		end
		if not props.create then return end
		local secrets
		for _, s in ipairs(props.imagePullSecrets or {}) do
			secrets = secrets or oam.array()
			secrets[#secrets + 1] = { name = s }
		end
		local ann = props.annotations
		return { outputs = { {
			apiVersion = "v1",
			kind = "ServiceAccount",
			metadata = { name = name, annotations = ann and next(ann) and ann or nil },
			imagePullSecrets = secrets,
		} } }
	end,
}
