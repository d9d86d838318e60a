-- dapr-sidecar: asks Dapr's sidecar injector for a daprd sidecar next to
-- the component's containers, by annotating the pod template. The app
-- talks to Dapr on localhost (HTTP 3500, gRPC 50001); Dapr calls the app
-- on appPort.

local protocols = { "http", "grpc", "https", "grpcs", "h2c" }

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "dapr-sidecar",
	version = "1.0.0",
	description = "Runs the Dapr sidecar next to the component (dapr.io annotations)",
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker" },
	conflictsWith = {},
	schema = {
		appId = { type = "string", description = "Dapr app ID (default: the instance name)" },
		appPort = { type = "integer", min = 1, max = 65535,
			description = "Container port Dapr calls the app on (default: the first container port; none for Workers)" },
		appProtocol = { type = "string", default = "http", enum = protocols,
			description = "Protocol Dapr uses to call the app" },
		config = { type = "string", description = "Name of a Dapr Configuration (tracing, middleware, ...)" },
		logLevel = { type = "string", default = "info", enum = { "debug", "info", "warn", "error" },
			description = "Log level of the sidecar" },
		enableMetrics = { type = "boolean", default = true, description = "Serve Prometheus metrics" },
		metricsPort = { type = "integer", default = 9090, min = 1, max = 65535, description = "Port of the metrics" },
		enableApiLogging = { type = "boolean", default = false, description = "Log every API call to the sidecar" },
		cpu = { type = "string", description = "CPU request of the sidecar, e.g. 100m" },
		memory = { type = "string", description = "Memory request of the sidecar, e.g. 64Mi" },
	},

	validate = function(ctx, props)
		local problems = {}
		if props.appId and not oam.is_dns_label(props.appId) then
			problems[#problems + 1] = { property = "appId",
				message = "appId must be a DNS label (Dapr uses it in service names), got '" .. props.appId .. "'" }
		end
		if props.appPort then
			local found = false
			for _, p in ipairs(ctx.ports) do found = found or p.containerPort == props.appPort end
			if not found then
				problems[#problems + 1] = { property = "appPort", message = string.format(
					"appPort %d is not a container port of component '%s'", props.appPort, ctx.componentName) }
			end
		end
		for _, k in ipairs({ "cpu", "memory" }) do
			if props[k] and not oam.parse_quantity(props[k]) then
				problems[#problems + 1] = { property = k, message = k .. " must be a quantity such as 100m or 64Mi" }
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local port = props.appPort or (ctx.ports[1] and ctx.ports[1].containerPort)
		local a = {
			["dapr.io/enabled"] = "true",
			["dapr.io/app-id"] = props.appId or ctx.name,
			["dapr.io/app-protocol"] = props.appProtocol,
			["dapr.io/log-level"] = props.logLevel,
			["dapr.io/enable-metrics"] = tostring(props.enableMetrics),
			["dapr.io/metrics-port"] = tostring(props.metricsPort),
			["dapr.io/enable-api-logging"] = tostring(props.enableApiLogging),
			["dapr.io/config"] = props.config,
			["dapr.io/sidecar-cpu-request"] = props.cpu,
			["dapr.io/sidecar-memory-request"] = props.memory,
		}
		if port then a["dapr.io/app-port"] = tostring(port) end
		oam.merge(ctx.output, { spec = { template = { metadata = { annotations = a } } } })
	end,
}
