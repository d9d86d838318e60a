-- configmap-mount: mounts existing ConfigMaps into the component's
-- containers, as files (a volume, each key a file) or as environment
-- variables (envFrom, each key a variable). The ConfigMaps are not created
-- here: they come from elsewhere (another tool, kubectl, a GitOps repo).

-- The work is done by the host helpers oam.source_mount_problems and
-- oam.render_source_mounts (lua/pod.lua), shared with the other *-mount trait.

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "configmap-mount",
	version = "1.0.0",
	description = "Mounts existing ConfigMaps into the containers as files or environment variables",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker", "Task", "SingletonTask" },
	conflictsWith = {},
	schema = {
		configMaps = { type = "array", required = true, min = 1, description = "ConfigMaps to mount, each as files or as env",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Name of the ConfigMap (in the application's namespace)" },
				as = { type = "string", default = "files", enum = { "files", "env" },
					description = "files: each key a file under mountPath; env: each key an environment variable" },
				mountPath = { type = "string", description = "files: directory to mount the keys in" },
				items = { type = "array", description = "files: mount only these keys, at these paths",
					items = { type = "object", properties = {
						key = { type = "string", required = true, description = "Key of the ConfigMap" },
						path = { type = "string", required = true, description = "File path, relative to mountPath" },
					} } },
				defaultMode = { type = "integer", min = 0, max = 511,
					description = "files: permission bits, in decimal (420 is 0644)" },
				envPrefix = { type = "string", description = "env: prefix for the variable names" },
				optional = { type = "boolean", default = false, description = "Start the pods even if the ConfigMap is missing" },
			} } },
		containers = { type = "array", min = 1, items = { type = "string" },
			description = "Containers to mount them in (default: every container of the component)" },
	},

	validate = function(ctx, props)
		return oam.source_mount_problems(ctx, props, "configMaps", "ConfigMap")
	end,

	render = function(ctx, props)
		oam.render_source_mounts(ctx, props, "configMaps", "ConfigMap")
	end,
}
