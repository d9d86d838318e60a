-- cron: runs a Task or SingletonTask on a schedule. The workload's Job
-- becomes a batch/v1 CronJob in place: its spec moves, unchanged, into
-- spec.jobTemplate.spec, and the schedule and history settings are added.
--
-- Traits listed before cron patch the Job and their changes move with it;
-- the built-in traits listed after it find the pod template under
-- spec.jobTemplate. Traits that assume long-running pods or a Job's own
-- fields (manual-scaler's parallelism, auto-scaler, update-strategy, pdb)
-- conflict with it.

local FIELDS = {   -- name, lowest, highest, names (Jan = 1, Sun = 0)
	{ "minute", 0, 59 },
	{ "hour", 0, 23 },
	{ "day of month", 1, 31 },
	{ "month", 1, 12, { "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec" } },
	{ "day of week", 0, 7, { "sun", "mon", "tue", "wed", "thu", "fri", "sat" } },
}
local MACROS = { ["@yearly"] = true, ["@annually"] = true, ["@monthly"] = true, ["@weekly"] = true,
	["@daily"] = true, ["@midnight"] = true, ["@hourly"] = true }

-- One value of a field: a number in range, or a month/day name.
local function value(f, s)
	local n = tonumber(s)
	if not n and f[4] then
		for i, name in ipairs(f[4]) do
			if s:lower() == name then n = f[1] == "month" and i or i - 1 end
		end
	end
	if not n or math.type(n) ~= "integer" or n < f[2] or n > f[3] then return nil end
	return n
end

-- Problems with a schedule: five fields (minute hour day-of-month month
-- day-of-week), each a list of *, ?, N, N-M, optionally /STEP; or a macro.
local function schedule_problem(s)
	if s:find("TZ=") then
		return "set the time zone with the timeZone property, not in the schedule"
	end
	if MACROS[s] then return nil end
	local parts = {}
	for p in s:gmatch("%S+") do parts[#parts + 1] = p end
	if #parts ~= 5 then
		return string.format("schedule '%s' must have 5 fields (minute hour day-of-month month day-of-week) or be one of @hourly, @daily, @weekly, @monthly, @yearly, got %d fields", s, #parts)
	end
	for i, f in ipairs(FIELDS) do
		for item in (parts[i] .. ","):gmatch("([^,]*),") do
			local range, step = item:match("^([^/]*)/(.*)$")
			range = range or item
			if step and not (tonumber(step) and math.type(tonumber(step)) == "integer" and tonumber(step) > 0) then
				return string.format("schedule '%s': %s field: step '%s' must be a positive whole number", s, f[1], step)
			end
			local ok
			if range == "*" or (range == "?" and (i == 3 or i == 5)) then
				ok = true
			else
				local lo, hi = range:match("^([^-]+)-([^-]+)$")
				if lo then
					lo, hi = value(f, lo), value(f, hi)
					ok = lo and hi and lo <= hi
				else
					ok = value(f, range) ~= nil
				end
			end
			if not ok then
				return string.format("schedule '%s': %s field: '%s' is not valid (%d-%d)", s, f[1], item, f[2], f[3])
			end
		end
	end
end

return {
	apiVersion = "oamlua/v1",
	kind = "Trait",
	name = "cron",
	version = "1.0.0",
	description = "Runs a Task on a schedule: turns its Job into a CronJob",
	appliesToWorkloads = { "Task", "SingletonTask" },
	-- A CronJob has no replicas or parallelism of its own to scale, no
	-- rolling update and no long-running pods to protect from eviction.
	conflictsWith = { "manual-scaler", "auto-scaler", "update-strategy", "pdb" },
	-- It moves the whole Job spec, with what traits listed before it wrote.
	overrides = { "spec" },
	schema = {
		schedule = { type = "string", required = true,
			description = "Cron schedule: \"minute hour day-of-month month day-of-week\" (e.g. \"0 3 * * *\") or @hourly, @daily, @weekly, @monthly, @yearly" },
		timeZone = { type = "string", description = "IANA time zone of the schedule, e.g. Europe/Berlin (default: the controller's, usually UTC)" },
		concurrencyPolicy = { type = "string", default = "Forbid", enum = { "Allow", "Forbid", "Replace" },
			description = "What to do when a run is due while the last one still runs: skip it (Forbid), start anyway (Allow), or stop the old one (Replace)" },
		startingDeadlineSeconds = { type = "integer", min = 0,
			description = "A run that could not start within this many seconds of its time is skipped" },
		successfulJobsHistoryLimit = { type = "integer", default = 3, min = 0, description = "Finished Jobs to keep" },
		failedJobsHistoryLimit = { type = "integer", default = 1, min = 0, description = "Failed Jobs to keep" },
		suspend = { type = "boolean", default = false, description = "Create the CronJob paused: no runs until it is resumed" },
	},

	validate = function(ctx, props)
		local problems = {}
		local p = schedule_problem(props.schedule)
		if p then problems[#problems + 1] = { property = "schedule", message = p } end
		if props.timeZone and not props.timeZone:match("^[%w_%+%-]+$") and not props.timeZone:match("^[%w_%+%-]+/[%w_%+%-/]+$") then
			problems[#problems + 1] = { property = "timeZone", message = string.format(
				"'%s' is not a time zone name like UTC or Europe/Berlin", props.timeZone) }
		end
		if ctx.workloadType == "SingletonTask" and props.concurrencyPolicy == "Allow" then
			problems[#problems + 1] = { property = "concurrencyPolicy", message =
				"a SingletonTask runs one pod at a time: concurrencyPolicy must be Forbid or Replace" }
		end
		return problems
	end,

	render = function(ctx, props)
		if ctx.output.kind ~= "Job" then
			oam.fail("cron turns a Job into a CronJob, but the workload is a %s", tostring(ctx.output.kind))
		end
		local job = oam.copy(ctx.output.spec)
		local spec = {
			schedule = props.schedule,
			timeZone = props.timeZone,
			concurrencyPolicy = props.concurrencyPolicy,
			startingDeadlineSeconds = props.startingDeadlineSeconds,
			successfulJobsHistoryLimit = props.successfulJobsHistoryLimit,
			failedJobsHistoryLimit = props.failedJobsHistoryLimit,
			suspend = props.suspend or nil,
			jobTemplate = {
				metadata = { labels = oam.copy(ctx.output.metadata.labels) },
				spec = job,
			},
		}
		-- The Job's own fields leave spec (they now live in the template).
		for k in pairs(job) do spec[k] = oam.null end
		oam.merge(ctx.output, { apiVersion = "batch/v1", kind = "CronJob", spec = spec })
	end,
}
