-- volume-mounter: provisions the PersistentVolumeClaim behind a component
-- volume that is not ephemeral. The claim is named per instance
-- (<instance>-<volume>), as the workload's pod template expects.
local function find_volume(ctx, name)
	for _, c in ipairs(ctx.spec.containers or {}) do
		for _, v in ipairs(c.resources and c.resources.volumes or {}) do
			if v.name == name then return v end
		end
	end
end

local function volume_names(ctx)
	local l = {}
	for _, c in ipairs(ctx.spec.containers or {}) do
		for _, v in ipairs(c.resources and c.resources.volumes or {}) do
			if not (v.disk and v.disk.ephemeral) then l[#l + 1] = v.name end
		end
	end
	return #l > 0 and table.concat(l, ", ") or "none"
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "volume-mounter",
	version = "1.0.0",
	description = "Creates the PersistentVolumeClaim for a component volume (PersistentVolumeClaim)",
	appliesToWorkloads = { "*" },
	targets = { "kubernetes", "podman" },
	schema = {
		volumeName = { type = "string", required = true, description = "Name of the component volume to back" },
		storageClass = { type = "string", description = "StorageClass of the claim (default: the cluster's)" },
	},

	validate = function(ctx, props)
		local v = find_volume(ctx, props.volumeName)
		if not v then
			return { { property = "volumeName", message = string.format(
				"the component has no volume '%s' (its persistent volumes: %s)", props.volumeName, volume_names(ctx)) } }
		end
		if v.disk and v.disk.ephemeral then
			return { { property = "volumeName", message = string.format(
				"volume '%s' is ephemeral (an emptyDir); only persistent volumes need a claim", props.volumeName) } }
		end
	end,

	render = function(ctx, props)
		local v = find_volume(ctx, props.volumeName)
		if ctx.target == "podman" then
			-- A claim is a named volume there, created by the pod that uses it.
			return { outputs = { {
				apiVersion = "v1", kind = "PersistentVolumeClaim",
				metadata = { name = oam.claim_name(ctx, v.name) },
				spec = { accessModes = { "ReadWriteOnce" },
					resources = { requests = { storage = oam.memory(v.disk and v.disk.required or "1Gi") } } },
			} } }
		end
		local mode = "ReadWriteOnce"
		if v.accessMode == "RO" then mode = "ReadOnlyMany"
		elseif v.sharingPolicy == "Shared" then mode = "ReadWriteMany" end
		local size = v.disk and v.disk.required or "1Gi"
		return { outputs = { {
			apiVersion = "v1",
			kind = "PersistentVolumeClaim",
			metadata = { name = oam.claim_name(ctx, v.name) },
			spec = {
				accessModes = { mode },
				storageClassName = props.storageClass,
				resources = { requests = { storage = oam.memory(type(size) == "number" and tostring(size) .. "M" or size) } },
			},
		} } }
	end,
}
