-- expose: makes the component's pods reachable through a Service of a
-- chosen type (ClusterIP, NodePort, LoadBalancer) on chosen ports.
--
-- It never touches the Service a Server or SingletonServer already has
-- (named after the instance: ingress routes to it and a StatefulSet uses
-- it as its governing Service); it adds a second one, <instance>-expose,
-- selecting the same pods. On a Worker or SingletonWorker, which declare no
-- container ports, it is the only Service, and the ports must be listed.

local function is_server(ctx)
	return ctx.workloadType == "Server" or ctx.workloadType == "SingletonServer"
end

local function port_list(ctx)
	local l = {}
	for _, p in ipairs(ctx.ports) do l[#l + 1] = tostring(p.containerPort) end
	return table.concat(l, ", ")
end

local function container_port(ctx, number)
	for _, p in ipairs(ctx.ports) do
		if p.containerPort == number then return p end
	end
end

-- The Service ports: the listed ones, or every container port of the component.
local function service_ports(ctx, props)
	local out = oam.array()
	if props.ports and #props.ports > 0 then
		for _, p in ipairs(props.ports) do
			local target = p.targetPort or p.port
			local cp = container_port(ctx, target)
			out[#out + 1] = {
				name = p.name or (cp and cp.name) or (#props.ports > 1 and "port-" .. p.port or nil),
				port = p.port, targetPort = target, protocol = p.protocol, nodePort = p.nodePort,
			}
		end
	else
		for _, p in ipairs(ctx.ports) do
			out[#out + 1] = { name = p.name, port = p.containerPort, targetPort = p.containerPort, protocol = p.protocol }
		end
	end
	return out
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "expose",
	version = "1.0.0",
	description = "Exposes the pods with a Service of a chosen type and ports (<instance>-expose)",
	-- Long-running pods only: a Task's pods come and go.
	appliesToWorkloads = { "Server", "SingletonServer", "Worker", "SingletonWorker" },
	conflictsWith = {},
	schema = {
		type = { type = "string", default = "ClusterIP", enum = { "ClusterIP", "NodePort", "LoadBalancer" },
			description = "Service type" },
		ports = { type = "array", description = "Ports to expose (default: every container port of the component; required on Workers)",
			items = { type = "object", properties = {
				port = { type = "integer", required = true, min = 1, max = 65535, description = "Port of the Service" },
				targetPort = { type = "integer", min = 1, max = 65535, description = "Container port to send to (default: port)" },
				name = { type = "string", description = "Port name (default: the container port's name)" },
				protocol = { type = "string", default = "TCP", enum = { "TCP", "UDP", "SCTP" }, description = "Protocol" },
				nodePort = { type = "integer", min = 30000, max = 32767,
					description = "Node port (NodePort and LoadBalancer only; default: chosen by the cluster)" },
			} } },
		annotations = { type = "object",
			description = "Annotations of the Service, e.g. a cloud load balancer's settings" },
		externalTrafficPolicy = { type = "string", enum = { "Cluster", "Local" },
			description = "Local keeps the client's source address (NodePort and LoadBalancer only)" },
		loadBalancerSourceRanges = { type = "array", items = { type = "string" },
			description = "Client CIDRs allowed to reach a LoadBalancer, e.g. 10.0.0.0/8" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function add(prop, fmt, ...)
			problems[#problems + 1] = { property = prop, message = string.format(fmt, ...) }
		end
		local external = props.type ~= "ClusterIP"
		local ports = props.ports or {}
		if #ports == 0 and #ctx.ports == 0 then
			add("ports", "a %s declares no container ports: list the ports to expose", ctx.workloadType)
		end
		local seen = {}
		for i, p in ipairs(ports) do
			local target = p.targetPort or p.port
			if is_server(ctx) and not container_port(ctx, target) then
				add("ports", "ports[%d]: targetPort %d is not a port of the component (it exposes: %s)", i - 1, target,
					port_list(ctx))
			end
			if p.nodePort and not external then
				add("ports", "ports[%d]: nodePort needs type NodePort or LoadBalancer", i - 1)
			end
			if p.name and not oam.is_dns_label(p.name) then
				add("ports", "ports[%d]: name '%s' is not a DNS label (lowercase letters, digits, '-')", i - 1, p.name)
			end
			local key = p.port .. "/" .. p.protocol
			if seen[key] then add("ports", "ports[%d]: port %s is listed twice", i - 1, key) end
			seen[key] = true
		end
		local names = {}
		for _, sp in ipairs(service_ports(ctx, props)) do
			if sp.name and names[sp.name] then
				add("ports", "two ports would be named '%s': give them distinct names", sp.name)
			end
			if sp.name then names[sp.name] = true end
		end
		if props.externalTrafficPolicy and not external then
			add("externalTrafficPolicy", "externalTrafficPolicy needs type NodePort or LoadBalancer")
		end
		if props.loadBalancerSourceRanges and props.type ~= "LoadBalancer" then
			add("loadBalancerSourceRanges", "loadBalancerSourceRanges needs type LoadBalancer")
		end
		for _, r in ipairs(props.loadBalancerSourceRanges or {}) do
			if not (r:match("^%d+%.%d+%.%d+%.%d+/%d+$") or r:match("^[%x:]+/%d+$")) then
				add("loadBalancerSourceRanges", "'%s' is not a CIDR like 10.0.0.0/8", r)
			end
		end
		for _, k in ipairs(oam.sorted_keys(props.annotations or {})) do
			if type(props.annotations[k]) ~= "string" then
				add("annotations", "annotation '%s' must be a string", k)
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local ann = props.annotations
		return { outputs = { {
			apiVersion = "v1",
			kind = "Service",
			metadata = { name = oam.name(ctx.name, "expose"), annotations = ann and next(ann) and ann or nil },
			spec = {
				type = props.type,
				selector = oam.copy(ctx.selector),
				ports = service_ports(ctx, props),
				externalTrafficPolicy = props.externalTrafficPolicy,
				loadBalancerSourceRanges = props.loadBalancerSourceRanges,
			},
		} } }
	end,
}
