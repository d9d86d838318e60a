-- init-container: runs a container to completion before the component's
-- containers start (fetch data, wait for a dependency, run a migration).
-- It is appended after any init containers the pod already has, and they
-- run in that order. To hand files to the main containers, mount a volume
-- they share, e.g. an ephemeral component volume (an emptyDir).

-- The pod template of the workload object: Deployment, StatefulSet, Job
-- (spec.template) or CronJob (spec.jobTemplate.spec.template, the cron trait).
local function pod_template_path(obj) return oam.pod_template_path(obj, true) end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "init-container",
	version = "1.0.0",
	description = "Runs a container to completion before the component's containers start",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	-- A pod template is a pod template on both targets.
	targets = { "kubernetes", "podman" },
	conflictsWith = {},
	schema = {
		name = { type = "string", required = true, description = "Container name, unique in the pod (not one of the component's or another trait's containers)" },
		image = { type = "string", required = true, description = "Container image" },
		imagePullPolicy = { type = "string", enum = { "Always", "IfNotPresent", "Never" },
			description = "When to pull the image (default: the cluster's rule)" },
		command = { type = "array", items = { type = "string" }, description = "Entrypoint (default: the image's)" },
		args = { type = "array", items = { type = "string" }, description = "Arguments to the entrypoint" },
		env = { type = "array", description = "Environment variables",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Variable name" },
				value = { type = "string", required = true, description = "Value" },
			} } },
		volumeMounts = { type = "array", description = "Pod volumes to mount (a component volume, or one a mount trait added)",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Volume name" },
				mountPath = { type = "string", required = true, description = "Where to mount it" },
				subPath = { type = "string", description = "Mount only this path of the volume" },
				readOnly = { type = "boolean", default = false, description = "Mount read-only" },
			} } },
		resources = oam.container_resources_schema("Compute resources of the init container"),
	},

	validate = function(ctx, props)
		local problems = {}
		if not oam.is_dns_label(props.name) then
			problems[#problems + 1] = { property = "name", message = string.format(
				"'%s' is not a valid container name (a DNS label: lowercase letters, digits, '-')", props.name) }
		end
		for _, c in ipairs(ctx.spec.containers or {}) do
			if c.name == props.name then
				problems[#problems + 1] = { property = "name", message = string.format(
					"the component already has a container '%s': choose another name", props.name) }
			end
		end
		oam.container_resources_problems(props.resources, "resources", problems)
		return problems
	end,

	render = function(ctx, props)
		local pod = pod_template_path(ctx.output) .. ".spec"
		-- One the workload or another trait added (validate saw the component's).
		local clash = oam.pod_container_clash(ctx.output, pod, props.name)
		if clash then oam.fail("name: %s", clash) end
		local have = {}
		for _, v in ipairs(oam.get(ctx.output, pod .. ".volumes") or {}) do have[v.name] = true end
		local mounts
		for _, m in ipairs(props.volumeMounts or {}) do
			if not have[m.name] then
				local names = oam.sorted_keys(have)
				oam.fail("volumeMounts: the pod has no volume '%s' (%s)", m.name,
					#names > 0 and "its volumes: " .. table.concat(names, ", ") or "it has none")
			end
			mounts = mounts or oam.array()
			mounts[#mounts + 1] = { name = m.name, mountPath = m.mountPath, subPath = m.subPath, readOnly = m.readOnly or nil }
		end
		oam.merge_by_key(ctx.output, pod .. ".initContainers", "name", { {
			name = props.name,
			image = props.image,
			-- podman runs local images: do not ask a registry first.
			imagePullPolicy = props.imagePullPolicy or (ctx.target == "podman" and "IfNotPresent" or nil),
			command = props.command,
			args = props.args,
			env = props.env,
			volumeMounts = mounts,
			resources = oam.container_resources(props.resources),
		} })
	end,
}
