-- pod.lua — turning an OAM component spec into Kubernetes pod parts.
--
-- Shared by the built-in workload modules and available to every module as
-- oam.pod_template, oam.containers, oam.config_maps, oam.service, so that a
-- team writing its own workload type gets the same mapping for free.
local oam = ...

local pairs, ipairs, type, tostring, next = pairs, ipairs, type, tostring, next
local sfmt, smatch, sgsub = string.format, string.match, string.gsub

-- On the podman target an emptyDir is a named volume shared by every pod
-- that uses the name, so it gets the instance's name in front.
local function volume_name(ctx, name)
	if ctx.target == "podman" then return oam.name(ctx.name, name) end
	return name
end
oam.volume_name = volume_name

-- Name of the ConfigMap holding a container's config files.
function oam.config_map_name(ctx, container)
	return oam.name(ctx.name, container.name, "config")
end

-- Name of the PersistentVolumeClaim behind a non-ephemeral volume. Per
-- instance, so two instances never share a claim by accident.
function oam.claim_name(ctx, volume_name)
	return oam.name(ctx.name, volume_name)
end

-- A ConfigMap key for a config file path: "/etc/app/a.conf" → "etc-app-a.conf".
local function config_key(path)
	local k = sgsub(sgsub(path, "^/+", ""), "[^%w%-%._]", "-")
	if k == "" then k = "file" end
	return k
end

-- Where a container's config files go. On Kubernetes: one ConfigMap per
-- container, each file mounted at its exact path with subPath, so the rest
-- of its directory is left alone. podman (4.3) ignores subPath, so there:
-- one ConfigMap per directory, mounted on the directory.
local function config_groups(ctx, c)
	local groups = {}
	if not c.config or #c.config == 0 then return groups end
	if ctx.target ~= "podman" then
		local g = { name = oam.config_map_name(ctx, c), volume = oam.name(c.name, "config"), files = {} }
		local seen = {}
		for _, f in ipairs(c.config) do
			local k = config_key(f.path)
			while seen[k] do k = "x-" .. k end
			seen[k] = true
			g.files[#g.files + 1] = { key = k, value = f.value, mountPath = f.path, subPath = k }
		end
		groups[1] = g
		return groups
	end
	local bydir = {}
	for _, f in ipairs(c.config) do
		local dir, base = smatch(f.path, "^(.*)/([^/]+)$")
		if not dir or dir == "" then dir, base = "/", smatch(f.path, "([^/]+)$") or "file" end
		local g = bydir[dir]
		if not g then
			local n = #groups
			g = { dir = dir, files = {},
				name = oam.name(ctx.name, c.name, "config", n > 0 and tostring(n) or nil),
				volume = oam.name(ctx.name, c.name, "config", n > 0 and tostring(n) or nil) }
			bydir[dir] = g
			groups[#groups + 1] = g
		end
		g.files[#g.files + 1] = { key = base, value = f.value }
	end
	return groups
end

-- The ConfigMaps holding the containers' config files.
function oam.config_maps(ctx, spec)
	local out = {}
	for _, c in ipairs(spec.containers or {}) do
		for _, g in ipairs(config_groups(ctx, c)) do
			local data = {}
			for _, f in ipairs(g.files) do data[f.key] = f.value end
			out[#out + 1] = { apiVersion = "v1", kind = "ConfigMap", metadata = { name = g.name }, data = data }
		end
	end
	return out
end

local function probe(p)
	if not p then return nil end
	local r = {}
	if p.exec then r.exec = { command = oam.array(oam.copy(p.exec.command)) } end
	if p.httpGet then
		r.httpGet = { path = p.httpGet.path, port = p.httpGet.port }
		if p.httpGet.httpHeaders and #p.httpGet.httpHeaders > 0 then
			r.httpGet.httpHeaders = oam.copy(p.httpGet.httpHeaders)
		end
	end
	if p.tcpSocket then r.tcpSocket = { port = p.tcpSocket.port } end
	for _, k in ipairs({ "initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
		"failureThreshold" }) do
		r[k] = p[k]
	end
	return r
end

local function resources(res)
	if not res then return nil end
	local requests, limits = {}, {}
	if res.cpu and res.cpu.required ~= nil then requests.cpu = oam.cpu(res.cpu.required) end
	if res.memory and res.memory.required ~= nil then requests.memory = oam.memory(res.memory.required) end
	if res.gpu and res.gpu.required ~= nil and res.gpu.required > 0 then
		-- GPUs are only schedulable as limits.
		limits["nvidia.com/gpu"] = math.ceil(res.gpu.required)
	end
	for _, e in ipairs(res.extended or {}) do
		local n = smatch(e.name, "%.([%w]+)$") or e.name
		requests[oam.name(n)] = tostring(e.required)
	end
	local r = {}
	if next(requests) then r.requests = requests end
	if next(limits) then r.limits = limits end
	if next(r) then return r end
	return nil
end

-- Kubernetes containers from the OAM containers (env and config already
-- resolved by the host: env = { {name, value} }, config = { {path, value} }).
function oam.containers(ctx, spec)
	local out = oam.array()
	for _, c in ipairs(spec.containers or {}) do
		local k = { name = c.name, image = c.image }
		if c.cmd then k.command = oam.array(oam.copy(c.cmd)) end
		if c.args then k.args = oam.array(oam.copy(c.args)) end
		if c.env and #c.env > 0 then
			k.env = oam.array()
			for _, e in ipairs(c.env) do k.env[#k.env + 1] = { name = e.name, value = e.value } end
		end
		if c.ports and #c.ports > 0 then
			k.ports = oam.array()
			for _, p in ipairs(c.ports) do
				local port = { name = p.name, containerPort = p.containerPort, protocol = p.protocol or "TCP" }
				if ctx.target == "podman" then
					-- One host: what a Service would expose is published on
					-- the host, on the same port unless a trait moves it.
					port.hostPort = p.containerPort
					port.hostIP = ctx.publishAddress
				end
				k.ports[#k.ports + 1] = port
			end
		end
		if ctx.target == "podman" then
			-- Images are local there: never ask a registry first.
			k.imagePullPolicy = "IfNotPresent"
		end
		k.resources = resources(c.resources)
		local mounts = oam.array()
		for _, g in ipairs(config_groups(ctx, c)) do
			if g.dir then
				mounts[#mounts + 1] = { name = g.volume, mountPath = g.dir, readOnly = true }
			else
				for _, f in ipairs(g.files) do
					mounts[#mounts + 1] = { name = g.volume, mountPath = f.mountPath, subPath = f.subPath, readOnly = true }
				end
			end
		end
		for _, v in ipairs(c.resources and c.resources.volumes or {}) do
			mounts[#mounts + 1] = { name = volume_name(ctx, v.name), mountPath = v.mountPath,
				readOnly = v.accessMode == "RO" or nil }
		end
		if #mounts > 0 then k.volumeMounts = mounts end
		k.livenessProbe = probe(c.livenessProbe)
		k.readinessProbe = probe(c.readinessProbe)
		out[#out + 1] = k
	end
	return out
end

-- The pod volumes the containers mount.
function oam.volumes(ctx, spec)
	local out, seen = oam.array(), {}
	for _, c in ipairs(spec.containers or {}) do
		for _, g in ipairs(config_groups(ctx, c)) do
			out[#out + 1] = { name = g.volume, configMap = { name = g.name } }
		end
		for _, v in ipairs(c.resources and c.resources.volumes or {}) do
			if not seen[v.name] then
				seen[v.name] = true
				if v.disk and v.disk.ephemeral then
					out[#out + 1] = { name = volume_name(ctx, v.name), emptyDir = { sizeLimit = oam.memory(v.disk.required) } }
				else
					out[#out + 1] = { name = volume_name(ctx, v.name), persistentVolumeClaim = {
						claimName = oam.claim_name(ctx, v.name), readOnly = v.accessMode == "RO" or nil } }
				end
			end
		end
	end
	return out
end

-- The pod template: labels (selector + workload type), the component's
-- annotations, containers, volumes, image pull secrets, node selector.
function oam.pod_template(ctx, spec, opts)
	opts = opts or {}
	local pod = {
		containers = oam.containers(ctx, spec),
		restartPolicy = opts.restartPolicy,
	}
	local vols = oam.volumes(ctx, spec)
	if #vols > 0 then pod.volumes = vols end
	local secrets, seen = oam.array(), {}
	for _, c in ipairs(spec.containers or {}) do
		if c.imagePullSecret and not seen[c.imagePullSecret] then
			seen[c.imagePullSecret] = true
			secrets[#secrets + 1] = { name = c.imagePullSecret }
		end
	end
	if #secrets > 0 then pod.imagePullSecrets = secrets end
	local sel = {}
	if spec.osType then sel["kubernetes.io/os"] = spec.osType end
	if spec.arch then sel["kubernetes.io/arch"] = spec.arch end
	if next(sel) then pod.nodeSelector = sel end
	local md = { labels = oam.labels(ctx.selector, { ["workload.oam.dev/type"] = ctx.workloadType }) }
	if ctx.annotations and next(ctx.annotations) then md.annotations = oam.copy(ctx.annotations) end
	return { metadata = md, spec = pod }
end

-- A Service exposing every port of every container (Rudr exposed only the
-- first one).
function oam.service(ctx, spec, opts)
	opts = opts or {}
	local ports = oam.array()
	for _, c in ipairs(spec.containers or {}) do
		for _, p in ipairs(c.ports or {}) do
			ports[#ports + 1] = { name = p.name, port = p.containerPort, targetPort = p.containerPort,
				protocol = p.protocol or "TCP" }
		end
	end
	if #ports == 0 then return nil end
	return {
		apiVersion = "v1",
		kind = "Service",
		metadata = { name = opts.name or ctx.name },
		spec = { selector = oam.copy(ctx.selector), ports = ports, type = opts.type, clusterIP = opts.clusterIP },
	}
end

function oam.selector(ctx)
	return { matchLabels = oam.copy(ctx.selector) }
end

-- Kubernetes resource requirements of a container a trait adds (sidecar,
-- init container): requests and limits of cpu and memory as quantities.
-- A fresh schema per call, so no two modules share (and could change) one.
function oam.container_resources_schema(description)
	local function quantities()
		return { type = "object", properties = {
			cpu = { type = "string", description = "CPU, e.g. \"100m\" or \"0.5\"" },
			memory = { type = "string", description = "Memory, e.g. \"64Mi\"" },
		} }
	end
	return { type = "object", description = description,
		properties = { requests = quantities(), limits = quantities() } }
end

-- Those requirements without the maps that were not given (a missing
-- object property arrives as {}); nil when nothing is left.
function oam.container_resources(res)
	local r = {}
	for _, kind in ipairs({ "requests", "limits" }) do
		if next(res[kind]) ~= nil then r[kind] = oam.copy(res[kind]) end
	end
	return next(r) ~= nil and r or nil
end

-- Adds a validate() finding on `property` for each quantity that does not parse.
function oam.container_resources_problems(res, property, problems)
	for _, kind in ipairs({ "requests", "limits" }) do
		for _, r in ipairs({ "cpu", "memory" }) do
			local q = res[kind][r]
			local ok, why = true, nil
			if q ~= nil then ok, why = oam.parse_quantity(q) end
			if not ok then
				problems[#problems + 1] = { property = property, message = sfmt("%s.%s: %s", kind, r, why) }
			end
		end
	end
end

-- Mounting existing ConfigMaps or Secrets into containers, as files (a
-- volume per source) or as environment variables (envFrom): the logic of
-- the configmap-mount and secret-mount traits, which differ only in kind.
local SOURCES = {
	ConfigMap = { kind = "ConfigMap", ref = "configMapRef", volume_prefix = "cm", field = "configMap", name_field = "name" },
	Secret = { kind = "Secret", ref = "secretRef", volume_prefix = "secret", field = "secret", name_field = "secretName" },
}

-- The names of the component's containers, in order.
function oam.container_names(ctx)
	local names = {}
	for _, c in ipairs(ctx.spec.containers or {}) do names[#names + 1] = c.name end
	return names
end
local component_containers = oam.container_names

-- Why `name` is not one of the component's containers, naming those it
-- has; nil when it is one.
function oam.unknown_container(ctx, name)
	local have = component_containers(ctx)
	for _, h in ipairs(have) do
		if h == name then return nil end
	end
	return sfmt("the component has no container '%s' (its containers: %s)", name, table.concat(have, ", "))
end

-- Why a trait may not add a container named `name` to the pod whose spec
-- is at `pod` of obj ("spec.template.spec"): the pod has a container or an
-- init container of that name already (names are unique across both
-- lists), added by the trait it names when one did. nil when it is free.
function oam.pod_container_clash(obj, pod, name)
	local own = oam._owners(obj)
	local base = sgsub(pod, "^%.", "")
	for _, list in ipairs({ "containers", "initContainers" }) do
		for i, c in ipairs(oam.get(obj, pod .. "." .. list) or {}) do
			if c.name == name then
				local by = own[sfmt("%s.%s[%d]", base, list, i - 1)]
				return sfmt("the pod already has %s named '%s'%s: choose another name",
					list == "containers" and "a container" or "an init container", name,
					by and sfmt(" (added by trait '%s')", by) or "")
			end
		end
	end
	return nil
end

local function index_by(list, field, value)
	for i, e in ipairs(list or {}) do
		if e[field] == value then return i end
	end
end

function oam.source_mount_problems(ctx, props, list_prop, kind)
	local SOURCE = SOURCES[kind].kind
	local problems, names, paths = {}, {}, {}
	local function add(prop, fmt, ...)
		problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
	end
	for i, m in ipairs(props[list_prop]) do
		local at = string.format("%s[%d]", list_prop, i - 1)
		if not oam.is_dns_subdomain(m.name) then
			add(at, "%s: '%s' is not a valid %s name (lowercase letters, digits, '-', '.')", at, m.name, SOURCE)
		end
		if names[m.name] then add(at, "%s: %s '%s' is listed twice", at, SOURCE, m.name) end
		names[m.name] = true
		if m.as == "files" then
			if not m.mountPath then
				add(at, "%s: files need a mountPath (the directory the keys appear in)", at)
			elseif m.mountPath:sub(1, 1) ~= "/" then
				add(at, "%s: mountPath '%s' must be an absolute path", at, m.mountPath)
			elseif paths[m.mountPath] then
				add(at, "%s: mountPath '%s' is used twice", at, m.mountPath)
			end
			if m.mountPath then paths[m.mountPath] = true end
			if m.envPrefix then add(at, "%s: envPrefix needs as: env", at) end
		else
			for _, f in ipairs({ "mountPath", "items", "defaultMode" }) do
				if m[f] ~= nil then add(at, "%s: %s needs as: files", at, f) end
			end
			if m.envPrefix and not m.envPrefix:match("^[%a_%-%.][%w_%-%.]*$") then
				add(at, "%s: envPrefix '%s' cannot start a variable name", at, m.envPrefix)
			end
		end
		for j, it in ipairs(m.items or {}) do
			if it.path:sub(1, 1) == "/" or it.path:find("%.%.") then
				add(at .. ".items[" .. (j - 1) .. "]", "%s.items[%d]: path '%s' must be relative, without '..'", at, j - 1, it.path)
			end
		end
	end
	for _, n in ipairs(props.containers or {}) do
		local p = oam.unknown_container(ctx, n)
		if p then add("containers", "%s", p) end
	end
	return problems
end

function oam.render_source_mounts(ctx, props, list_prop, kind)
	local S = SOURCES[kind]
	local pod = oam.pod_template_path(ctx.output, true) .. ".spec"
	local cnames = props.containers or component_containers(ctx)
	for _, m in ipairs(props[list_prop]) do
		if m.as == "files" then
			local vol = oam.name(S.volume_prefix, m.name)
			local source = { optional = m.optional or nil, defaultMode = m.defaultMode }
			source[S.name_field] = m.name
			if m.items then source.items = m.items end
			oam.merge_by_key(ctx.output, pod .. ".volumes", "name", { {
				name = vol, [S.field] = source } })
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
					[S.ref] = { name = m.name, optional = m.optional or nil }, prefix = m.envPrefix })
			end
		end
	end
end

