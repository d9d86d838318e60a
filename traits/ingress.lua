-- ingress: routes external HTTP traffic for a host and path to the
-- component's Service, with a networking.k8s.io/v1 Ingress.
local function exposed(ctx, port)
	for _, p in ipairs(ctx.ports) do
		if p.containerPort == port then return true end
	end
	return false
end

local function port_list(ctx)
	local l = {}
	for _, p in ipairs(ctx.ports) do l[#l + 1] = tostring(p.containerPort) end
	return table.concat(l, ", ")
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "ingress",
	version = "1.0.0",
	description = "Routes external HTTP(S) traffic for a host and path to the component (Ingress)",
	appliesToWorkloads = { "Server", "SingletonServer" },
	-- The same binding means something on both targets: an Ingress on a
	-- cluster, a host port on a single podman host.
	targets = { "kubernetes", "podman" },
	schema = {
		hostname = { type = "string", required = true, description = "Host name to route, e.g. app.example.com" },
		path = { type = "string", default = "/", description = "URL path prefix to route" },
		pathType = { type = "string", default = "Prefix", enum = { "Prefix", "Exact", "ImplementationSpecific" },
			description = "How the path is matched" },
		servicePort = { type = "integer", min = 1, max = 65535,
			description = "Port of the component to send traffic to (default: its first port)" },
		tlsHosts = { type = "string", description = "Comma-separated host names the TLS certificate covers" },
		tlsSecretName = { type = "string", description = "Secret holding the TLS certificate and key" },
		ingressClassName = { type = "string", description = "IngressClass to use (default: the cluster's)" },
		hostPort = { type = "integer", min = 1, max = 65535,
			description = "podman: host port that serves the route (default: the servicePort)" },
	},

	validate = function(ctx, props)
		if props.servicePort and not exposed(ctx, props.servicePort) then
			return { { property = "servicePort", message = string.format(
				"servicePort %d is not a port of the component (it exposes: %s)", props.servicePort, port_list(ctx)) } }
		end
		if props.tlsHosts and not props.tlsSecretName then
			return { { property = "tlsHosts", message = "tlsHosts needs tlsSecretName" } }
		end
	end,

	render = function(ctx, props)
		local port = props.servicePort or ctx.ports[1].containerPort
		if ctx.target == "podman" then
			-- No ingress controller on one host: publish the service port
			-- on the chosen host port instead (the workload published it on
			-- the same number already).
			local containers = ctx.output.spec.template.spec.containers
			for i, c in ipairs(containers) do
				for j, p in ipairs(c.ports or {}) do
					if p.containerPort == port then
						oam.set(ctx.output, string.format("spec.template.spec.containers[%d].ports[%d].hostPort", i - 1, j - 1),
							props.hostPort or port)
					end
				end
			end
			return nil
		end
		local ing = {
			apiVersion = "networking.k8s.io/v1",
			kind = "Ingress",
			metadata = { name = oam.name(ctx.name, "trait-ingress") },
			spec = {
				ingressClassName = props.ingressClassName,
				rules = { {
					host = props.hostname,
					http = { paths = { {
						path = props.path,
						pathType = props.pathType,
						backend = { service = { name = ctx.name, port = { number = port } } },
					} } },
				} },
			},
		}
		if props.tlsSecretName then
			local hosts = oam.array()
			for h in (props.tlsHosts or props.hostname):gmatch("[^,%s]+") do hosts[#hosts + 1] = h end
			ing.spec.tls = { { hosts = hosts, secretName = props.tlsSecretName } }
		end
		return { outputs = { ing } }
	end,
}
