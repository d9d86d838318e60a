-- env: sets environment variables in the workload's containers: literal
-- values, keys of a Secret or ConfigMap, or pod fields. A variable the
-- container already has (from the component) is replaced, others are
-- appended in order.

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

local function index_by_name(list, name)
	for i, e in ipairs(list or {}) do
		if e.name == name then return i end
	end
end

-- Which value sources an entry uses (a missing object property arrives as {}).
local function sources(e)
	local s = {}
	if e.value ~= nil then s[#s + 1] = "value" end
	if e.fromSecret.name then s[#s + 1] = "fromSecret" end
	if e.fromConfigMap.name then s[#s + 1] = "fromConfigMap" end
	if e.fromField ~= nil then s[#s + 1] = "fromField" end
	return s
end

local function k8s_env(e)
	if e.value ~= nil then return { name = e.name, value = e.value } end
	if e.fromSecret.name then
		return { name = e.name, valueFrom = { secretKeyRef = { name = e.fromSecret.name, key = e.fromSecret.key,
			optional = e.fromSecret.optional or nil } } }
	end
	if e.fromConfigMap.name then
		return { name = e.name, valueFrom = { configMapKeyRef = { name = e.fromConfigMap.name, key = e.fromConfigMap.key,
			optional = e.fromConfigMap.optional or nil } } }
	end
	return { name = e.name, valueFrom = { fieldRef = { fieldPath = e.fromField } } }
end

local KEY_REF = {
	name = { type = "string", required = true, description = "Name of the object" },
	key = { type = "string", required = true, description = "Key whose value to use" },
	optional = { type = "boolean", default = false, description = "Start the pod even if the key is missing" },
}

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "env",
	version = "1.0.0",
	description = "Sets environment variables in containers: values, Secret or ConfigMap keys, pod fields",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	schema = {
		env = { type = "array", required = true, min = 1, description = "Variables to set, each with exactly one source",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Variable name" },
				value = { type = "string", description = "Literal value" },
				fromSecret = { type = "object", properties = KEY_REF, description = "Value of a key of a Secret" },
				fromConfigMap = { type = "object", properties = KEY_REF, description = "Value of a key of a ConfigMap" },
				fromField = { type = "string",
					description = "Pod field to use, e.g. metadata.name, metadata.namespace, status.podIP, spec.nodeName" },
			} } },
		containers = { type = "array", min = 1, items = { type = "string" },
			description = "Names of the containers to set them in (default: every container of the component)" },
	},

	validate = function(ctx, props)
		local problems, seen = {}, {}
		for i, e in ipairs(props.env) do
			local s = sources(e)
			if #s ~= 1 then
				problems[#problems + 1] = { property = "env", message = string.format(
					"env[%d] '%s' needs exactly one of value, fromSecret, fromConfigMap, fromField%s", i - 1, e.name,
					#s > 1 and " (it has " .. table.concat(s, ", ") .. ")" or "") }
			end
			if not e.name:match("^[%a_%-%.][%w_%-%.]*$") then
				problems[#problems + 1] = { property = "env", message = string.format(
					"env[%d]: '%s' is not a valid variable name (letters, digits, '_', '-', '.'; not starting with a digit)", i - 1, e.name) }
			end
			if seen[e.name] then
				problems[#problems + 1] = { property = "env", message = string.format(
					"env[%d]: variable '%s' is set twice (also env[%d])", i - 1, e.name, seen[e.name] - 1) }
			end
			seen[e.name] = seen[e.name] or i
		end
		for _, n in ipairs(props.containers or {}) do
			local p = oam.unknown_container(ctx, n)
			if p then problems[#problems + 1] = { property = "containers", message = p } end
		end
		return problems
	end,

	render = function(ctx, props)
		local list = pod_template_path(ctx.output) .. ".spec.containers"
		for _, cname in ipairs(props.containers or oam.container_names(ctx)) do
			local ci = index_by_name(oam.get(ctx.output, list), cname)
			if not ci then oam.fail("the pod has no container '%s'", cname) end
			local cpath = string.format("%s[%d].env", list, ci - 1)
			for _, e in ipairs(props.env) do
				local ei = index_by_name(oam.get(ctx.output, cpath), e.name)
				if ei then
					-- Replace the whole entry: merging would keep a stale value next to valueFrom.
					oam.set(ctx.output, string.format("%s[%d]", cpath, ei - 1), k8s_env(e))
				else
					oam.merge_by_key(ctx.output, cpath, "name", { k8s_env(e) })
				end
			end
		end
	end,
}
