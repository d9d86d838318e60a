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
