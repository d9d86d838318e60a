-- secret-mount: mounts existing Secrets into the component's
-- containers, as files (a volume, each key a file) or as environment
-- variables (envFrom, each key a variable). The Secrets are not created
-- here: they come from elsewhere (a secrets operator, kubectl, sealed secrets).

local SOURCE, REF, VOLUME_PREFIX = "Secret", "secretRef", "secret"   -- configmap-mount.lua is this file for ConfigMaps

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

local function component_containers(ctx)
	local names = {}
	for _, c in ipairs(ctx.spec.containers or {}) do names[#names + 1] = c.name end
	return names
end

local function index_by(list, field, value)
	for i, e in ipairs(list or {}) do
		if e[field] == value then return i end
	end
end

local function mount_problems(ctx, props, list_prop)
	local problems, names, paths = {}, {}, {}
	local function add(prop, fmt, ...)
		problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
	end
	for i, m in ipairs(props[list_prop]) do
		local at = string.format("%s[%d]", list_prop, i - 1)
		if not is_dns_subdomain(m.name) then
			add(list_prop, "%s: '%s' is not a valid %s name (lowercase letters, digits, '-', '.')", at, m.name, SOURCE)
		end
		if names[m.name] then add(list_prop, "%s: %s '%s' is listed twice", at, SOURCE, m.name) end
		names[m.name] = true
		if m.as == "files" then
			if not m.mountPath then
				add(list_prop, "%s: files need a mountPath (the directory the keys appear in)", at)
			elseif m.mountPath:sub(1, 1) ~= "/" then
				add(list_prop, "%s: mountPath '%s' must be an absolute path", at, m.mountPath)
			elseif paths[m.mountPath] then
				add(list_prop, "%s: mountPath '%s' is used twice", at, m.mountPath)
			end
			if m.mountPath then paths[m.mountPath] = true end
			if m.envPrefix then add(list_prop, "%s: envPrefix needs as: env", at) end
		else
			for _, f in ipairs({ "mountPath", "items", "defaultMode" }) do
				if m[f] ~= nil then add(list_prop, "%s: %s needs as: files", at, f) end
			end
			if m.envPrefix and not m.envPrefix:match("^[%a_%-%.][%w_%-%.]*$") then
				add(list_prop, "%s: envPrefix '%s' cannot start a variable name", at, m.envPrefix)
			end
		end
		for j, it in ipairs(m.items or {}) do
			if it.path:sub(1, 1) == "/" or it.path:find("%.%.") then
				add(list_prop, "%s.items[%d]: path '%s' must be relative, without '..'", at, j - 1, it.path)
			end
		end
	end
	local have = component_containers(ctx)
	for _, n in ipairs(props.containers or {}) do
		local found = false
		for _, h in ipairs(have) do found = found or h == n end
		if not found then
			add("containers", "the component has no container '%s' (its containers: %s)", n, table.concat(have, ", "))
		end
	end
	return problems
end

local function render_mounts(ctx, props, list_prop)
	local pod = pod_template_path(ctx.output) .. ".spec"
	local cnames = props.containers or component_containers(ctx)
	for _, m in ipairs(props[list_prop]) do
		if m.as == "files" then
			local vol = oam.name(VOLUME_PREFIX, m.name)
			local source = { optional = m.optional or nil, defaultMode = m.defaultMode }
			source[SOURCE == "Secret" and "secretName" or "name"] = m.name
			if m.items then source.items = m.items end
			oam.merge_by_key(ctx.output, pod .. ".volumes", "name", { {
				name = vol, [SOURCE == "Secret" and "secret" or "configMap"] = source } })
			for _, cname in ipairs(cnames) do
				local ci = index_by(oam.get(ctx.output, pod .. ".containers"), "name", cname)
				if not ci then oam.fail("the pod has no container '%s'", cname) end
				local mounts = string.format("%s.containers[%d].volumeMounts", pod, ci - 1)
				local other = index_by(oam.get(ctx.output, mounts), "mountPath", m.mountPath)
				if other and oam.get(ctx.output, mounts)[other].name ~= vol then
					oam.fail("container '%s' already mounts volume '%s' at %s", cname,
						oam.get(ctx.output, mounts)[other].name, m.mountPath)
				end
				oam.merge_by_key(ctx.output, mounts, "name", { { name = vol, mountPath = m.mountPath, readOnly = true } })
			end
		else
			for _, cname in ipairs(cnames) do
				local ci = index_by(oam.get(ctx.output, pod .. ".containers"), "name", cname)
				if not ci then oam.fail("the pod has no container '%s'", cname) end
				local env_from = string.format("%s.containers[%d].envFrom", pod, ci - 1)
				local n = #(oam.get(ctx.output, env_from) or {})
				oam.set(ctx.output, string.format("%s[%d]", env_from, n), {
					[REF] = { name = m.name, optional = m.optional or nil }, prefix = m.envPrefix })
			end
		end
	end
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "secret-mount",
	version = "1.0.0",
	description = "Mounts existing Secrets into the containers as files or environment variables",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	conflictsWith = {},
	schema = {
		secrets = { type = "array", required = true, min = 1, description = "Secrets to mount, each as files or as env",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Name of the Secret (in the application's namespace)" },
				as = { type = "string", default = "files", enum = { "files", "env" },
					description = "files: each key a file under mountPath; env: each key an environment variable" },
				mountPath = { type = "string", description = "files: directory to mount the keys in" },
				items = { type = "array", description = "files: mount only these keys, at these paths",
					items = { type = "object", properties = {
						key = { type = "string", required = true, description = "Key of the Secret" },
						path = { type = "string", required = true, description = "File path, relative to mountPath" },
					} } },
				defaultMode = { type = "integer", min = 0, max = 511,
					description = "files: permission bits, in decimal (420 is 0644, 256 is 0400)" },
				envPrefix = { type = "string", description = "env: prefix for the variable names" },
				optional = { type = "boolean", default = false, description = "Start the pods even if the Secret is missing" },
			} } },
		containers = { type = "array", min = 1, items = { type = "string" },
			description = "Containers to mount them in (default: every container of the component)" },
	},

	validate = function(ctx, props)
		return mount_problems(ctx, props, "secrets")
	end,

	render = function(ctx, props)
		render_mounts(ctx, props, "secrets")
	end,
}
