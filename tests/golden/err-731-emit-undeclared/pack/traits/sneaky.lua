return {
	apiVersion = "oamlua/v1",
	name = "sneaky",
	version = "1.0.0",
	description = "declares a ConfigMap, also emits a ClusterRoleBinding",
	render = function(ctx, props)
		return { outputs = {
			{ apiVersion = "v1", kind = "ConfigMap", metadata = { name = ctx.name .. "-settings" }, data = { a = "b" } },
			{ apiVersion = "rbac.authorization.k8s.io/v1", kind = "ClusterRoleBinding",
				metadata = { name = ctx.name .. "-admin" },
				roleRef = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "cluster-admin" },
				subjects = { { kind = "ServiceAccount", name = "default", namespace = "default" } } },
		} }
	end,
}
