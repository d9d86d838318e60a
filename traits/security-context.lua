-- security-context: the pod's and its containers' security settings.
-- restricted: true applies the Pod Security Standard "restricted" profile
-- (non-root, no privilege escalation, all capabilities dropped, the
-- runtime's default seccomp profile); the other properties set one field
-- each and win over the profile.
--
-- Container settings go to every container and init container the pod has
-- when this trait renders (list it after sidecar and init-container to
-- cover theirs), or to the containers named in `containers`.

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

-- The pod-level and container-level settings, profile first.
local function settings(props)
	local r = props.restricted
	local pod = {
		runAsNonRoot = props.runAsNonRoot,
		runAsUser = props.runAsUser,
		runAsGroup = props.runAsGroup,
		fsGroup = props.fsGroup,
	}
	if r and pod.runAsNonRoot == nil then pod.runAsNonRoot = true end
	local seccomp = props.seccompProfile or (r and "RuntimeDefault") or nil
	if seccomp then pod.seccompProfile = { type = seccomp } end
	local c = {
		allowPrivilegeEscalation = props.allowPrivilegeEscalation,
		privileged = props.privileged,
		readOnlyRootFilesystem = props.readOnlyRootFilesystem,
	}
	if r and c.allowPrivilegeEscalation == nil then c.allowPrivilegeEscalation = false end
	local drop = props.dropCapabilities or (r and { "ALL" }) or nil
	if drop or props.addCapabilities then
		c.capabilities = { drop = drop, add = props.addCapabilities }
	end
	return pod, c
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "security-context",
	version = "1.0.0",
	description = "Pod and container security settings: non-root, user/group, read-only root, capabilities, seccomp",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	conflictsWith = {},
	schema = {
		restricted = { type = "boolean", default = false,
			description = "Apply the restricted Pod Security Standard: runAsNonRoot, no privilege escalation, drop ALL capabilities, RuntimeDefault seccomp" },
		runAsNonRoot = { type = "boolean", description = "Refuse to start a container whose user is root" },
		runAsUser = { type = "integer", min = 0, description = "User ID the containers run as" },
		runAsGroup = { type = "integer", min = 0, description = "Primary group ID of the containers" },
		fsGroup = { type = "integer", min = 0,
			description = "Group that owns mounted volumes (and is added to the containers' groups)" },
		seccompProfile = { type = "string", enum = { "RuntimeDefault", "Unconfined" },
			description = "Seccomp profile of the pod" },
		readOnlyRootFilesystem = { type = "boolean", description = "Mount the containers' root filesystem read-only" },
		allowPrivilegeEscalation = { type = "boolean", description = "Whether a process may gain more privileges than its parent (setuid)" },
		privileged = { type = "boolean", description = "Run the containers privileged (full access to the host)" },
		dropCapabilities = { type = "array", items = { type = "string" },
			description = "Linux capabilities to drop, e.g. ALL (the restricted profile drops ALL)" },
		addCapabilities = { type = "array", items = { type = "string" },
			description = "Linux capabilities to add, e.g. NET_BIND_SERVICE" },
		containers = { type = "array", min = 1, items = { type = "string" },
			description = "Containers to apply the container settings to (default: all the pod has, init containers too)" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function add(prop, fmt, ...)
			problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
		end
		local pod, c = settings(props)
		if pod.runAsNonRoot and props.runAsUser == 0 then
			add("runAsUser", "runAsUser 0 is root, but runAsNonRoot is set%s: the containers would not start",
				props.restricted and " (by restricted)" or "")
		end
		if c.privileged and c.allowPrivilegeEscalation == false then
			add("privileged", "a privileged container always allows privilege escalation: allowPrivilegeEscalation cannot be false%s",
				props.restricted and " (restricted sets it)" or "")
		end
		if props.restricted then
			if props.privileged then add("privileged", "privileged containers are not allowed by the restricted profile") end
			for _, cap in ipairs(props.addCapabilities or {}) do
				if cap ~= "NET_BIND_SERVICE" then
					add("addCapabilities", "the restricted profile allows adding only NET_BIND_SERVICE, not %s", cap)
				end
			end
			local all = false
			for _, cap in ipairs(props.dropCapabilities or { "ALL" }) do all = all or cap == "ALL" end
			if not all then
				add("dropCapabilities", "the restricted profile drops ALL capabilities: include ALL")
			end
			if props.seccompProfile == "Unconfined" then
				add("seccompProfile", "the restricted profile does not allow an Unconfined seccomp profile")
			end
			if props.runAsNonRoot == false then add("runAsNonRoot", "the restricted profile requires runAsNonRoot") end
			if props.allowPrivilegeEscalation then
				add("allowPrivilegeEscalation", "the restricted profile does not allow privilege escalation")
			end
		end
		for _, prop in ipairs({ "dropCapabilities", "addCapabilities" }) do
			for _, cap in ipairs(props[prop] or {}) do
				if not cap:match("^[A-Z][A-Z_]*$") or cap:match("^CAP_") then
					add(prop, "'%s' is not a capability name like NET_ADMIN or ALL (upper case, without CAP_)", cap)
				end
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local pod_path = pod_template_path(ctx.output) .. ".spec"
		local pod, c = settings(props)
		if next(pod) ~= nil then oam.merge_at(ctx.output, pod_path, { securityContext = pod }) end
		if next(c) == nil then return end
		local wanted
		if props.containers then
			wanted = {}
			for _, n in ipairs(props.containers) do wanted[n] = true end
		end
		local found = {}
		for _, list in ipairs({ "containers", "initContainers" }) do
			local items = {}
			for _, k in ipairs(oam.get(ctx.output, pod_path .. "." .. list) or {}) do
				if not wanted or wanted[k.name] then
					items[#items + 1] = { name = k.name, securityContext = c }
					found[k.name] = true
				end
			end
			if #items > 0 then oam.merge_by_key(ctx.output, pod_path .. "." .. list, "name", items) end
		end
		for _, n in ipairs(props.containers or {}) do
			if not found[n] then oam.fail("containers: the pod has no container '%s'", n) end
		end
	end,
}
