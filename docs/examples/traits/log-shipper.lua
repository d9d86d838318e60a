-- log-shipper: runs a log-shipping sidecar next to the workload's
-- containers and gives it its configuration in a ConfigMap.
return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "log-shipper",
	version = "1.0.0",
	description = "Ships container logs to a collector with a sidecar (container + ConfigMap)",

	-- Where it makes sense: workloads with long-running pods.
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker" },
	conflictsWith = {},

	-- The properties an operator may set, checked before render() runs.
	schema = {
		endpoint = { type = "string", required = true,
			description = "Collector address, host:port" },
		format = { type = "string", default = "json", enum = { "json", "logfmt" },
			description = "Format the collector expects" },
		memory = { type = "string", default = "64Mi",
			description = "Memory request of the sidecar" },
	},

	-- Rules the schema cannot express; each problem is reported at the
	-- property it names, before anything is rendered.
	validate = function(ctx, props)
		if not props.endpoint:match("^[%w%.%-]+:%d+$") then
			return { { property = "endpoint", message = "endpoint must be host:port, got '" .. props.endpoint .. "'" } }
		end
	end,

	render = function(ctx, props)
		local config_name = oam.name(ctx.name, "log-shipper")
		-- Patch the workload through the host: add the sidecar container
		-- (merged by name, so a re-render never duplicates it) and a volume.
		oam.merge_by_key(ctx.output, "spec.template.spec.containers", "name", { {
			name = "log-shipper",
			image = "fluent/fluent-bit:3.0",
			args = { "--config", "/etc/log-shipper/fluent-bit.conf" },
			resources = { requests = { memory = props.memory } },
			volumeMounts = { { name = "log-shipper", mountPath = "/etc/log-shipper", readOnly = true } },
		} })
		oam.merge_by_key(ctx.output, "spec.template.spec.volumes", "name", { {
			name = "log-shipper", configMap = { name = config_name },
		} })
		-- A new object of the trait's own; the host labels it.
		return { outputs = { {
			apiVersion = "v1",
			kind = "ConfigMap",
			metadata = { name = config_name },
			data = {
				["fluent-bit.conf"] = string.format(
					"[OUTPUT]\n    Name forward\n    Host %s\n    Port %s\n    Format %s\n",
					props.endpoint:match("^(.-):"), props.endpoint:match(":(%d+)$"), props.format),
			},
		} } }
	end,
}
