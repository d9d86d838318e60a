-- cron-hpa: scales a Server between a minimum and a maximum number of
-- replicas by time windows ("business hours"), with a CronHorizontalPodAutoscaler
-- (autoscaling.alibabacloud.com/v1beta1, kubernetes-cronhpa-controller).
--
-- Each window becomes two cron jobs of the CronHPA: one that scales up to
-- the window's replicas when it starts, one that scales down to the
-- minimum when it ends, on the window's days. The controller must run on
-- the cluster (the pack requires its CRD), and it reads the schedules in
-- its own time zone.

local function hhmm(s)
	local h, m = s:match("^(%d%d?):(%d%d)$")
	h, m = tonumber(h), tonumber(m)
	if not h or h > 23 or m > 59 then return nil end
	return h, m
end

-- Cron day-of-week field: *, numbers 0-7, names (Mon..Sun), ranges and lists.
local function days_ok(s)
	for part in (s .. ","):gmatch("([^,]*),") do
		local a, b = part:match("^(%w+)-(%w+)$")
		local items = a and { a, b } or { part }
		for _, d in ipairs(items) do
			local n = tonumber(d)
			local name = d:lower():match("^(%a%a%a)$")
			local names = { sun = true, mon = true, tue = true, wed = true, thu = true, fri = true, sat = true }
			if not (d == "*" and not a) and not (n and n >= 0 and n <= 7 and math.type(n) == "integer")
				and not (name and names[name]) then
				return false
			end
		end
	end
	return true
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "cron-hpa",
	version = "1.0.0",
	description = "Scales replicas between minimum and maximum by time windows (CronHorizontalPodAutoscaler)",
	appliesToWorkloads = { "Server" },
	conflictsWith = { "auto-scaler", "manual-scaler" },
	schema = {
		minimum = { type = "integer", required = true, min = 0,
			description = "Replicas outside every window" },
		maximum = { type = "integer", required = true, min = 1,
			description = "Replicas inside a window (a window may ask for fewer)" },
		windows = { type = "array", required = true, min = 1, description = "When to scale up",
			items = { type = "object", properties = {
				name = { type = "string", required = true, description = "Name of the window, a DNS label" },
				days = { type = "string", default = "*",
					description = "Days of the week, cron style: *, Mon-Fri, Sat,Sun, 1-5" },
				start = { type = "string", required = true, description = "Start, HH:MM" },
				stop = { type = "string", required = true, description = "End, HH:MM (on the same days)" },
				replicas = { type = "integer", min = 1, description = "Replicas in the window (default: maximum)" },
			} } },
		excludeDates = { type = "array", items = { type = "string" },
			description = "Dates without scaling, as 6-field cron expressions (\"* * * 25 12 *\")" },
	},

	validate = function(ctx, props)
		local problems = {}
		local function bad(property, fmt, ...)
			problems[#problems + 1] = { property = property, message = string.format(fmt, ...) }
		end
		if props.minimum > props.maximum then
			bad("minimum", "minimum (%d) is greater than maximum (%d)", props.minimum, props.maximum)
		end
		local seen = {}
		for i, w in ipairs(props.windows) do
			local where = string.format("windows[%d]", i - 1)
			if not oam.is_dns_label(w.name) then
				bad("windows", "%s: name '%s' is not a DNS label", where, w.name)
			elseif seen[w.name] then
				bad("windows", "%s: window '%s' is given twice", where, w.name)
			end
			seen[w.name] = true
			if not hhmm(w.start) then bad("windows", "%s: start '%s' is not a time HH:MM", where, w.start) end
			if not hhmm(w.stop) then bad("windows", "%s: stop '%s' is not a time HH:MM", where, w.stop) end
			if w.start == w.stop then bad("windows", "%s: start and stop are the same time", where) end
			if not days_ok(w.days or "*") then
				bad("windows", "%s: days '%s' is not a cron day-of-week field (*, Mon-Fri, Sat,Sun, 1-5)", where, w.days)
			end
			local r = w.replicas or props.maximum
			if props.minimum <= props.maximum and (r < props.minimum or r > props.maximum) then
				bad("windows", "%s: replicas %d is outside minimum..maximum (%d..%d)", where, r, props.minimum,
					props.maximum)
			end
		end
		return problems
	end,

	render = function(ctx, props)
		local jobs = oam.array()
		for _, w in ipairs(props.windows) do
			local days = w.days or "*"
			local sh, sm = hhmm(w.start)
			local eh, em = hhmm(w.stop)
			jobs[#jobs + 1] = { name = w.name .. "-start", schedule = string.format("0 %d %d * * %s", sm, sh, days),
				targetSize = w.replicas or props.maximum }
			jobs[#jobs + 1] = { name = w.name .. "-stop", schedule = string.format("0 %d %d * * %s", em, eh, days),
				targetSize = props.minimum }
		end
		return { outputs = { {
			apiVersion = "autoscaling.alibabacloud.com/v1beta1",
			kind = "CronHorizontalPodAutoscaler",
			metadata = { name = oam.name(ctx.name, "cron-hpa") },
			spec = {
				scaleTargetRef = { apiVersion = ctx.output.apiVersion, kind = ctx.output.kind,
					name = ctx.output.metadata.name },
				excludeDates = props.excludeDates,
				jobs = jobs,
			},
		} } }
	end,
}
