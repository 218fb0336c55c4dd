-- @noindex
-- ghostrec background watcher: polls the inbox and replaces takes as soon as their clean file
-- arrives (never while REAPER is recording). One coroutine for the watcher's whole life,
-- resumed once per defer cycle; the action's toggle state is on while it runs.
--
-- Per poll with nothing new it lists the inbox and opens no file: handled deliveries move
-- to the inbox's done/ folder, and take ids this project has had replaced once are skipped
-- (project memory), so an undone replacement stays undone.
local settings = require("ghostrec.settings")
local slice = require("ghostrec.slice")
local paths = require("ghostrec.paths")
local memory = require("ghostrec.memory")
local replace = require("ghostrec.replace")

local watch = {}

watch.POLL_SECONDS = 1.0

function watch.new()
	return {
		reported = {}, -- messages already shown (no console spam)
		tried = {},    -- take id -> inbox signature of the last failed attempt
		polls = 0,
		running = false,
	}
end

-- What the inbox holds for a take id (names, sizes, headers): a failed attempt is retried
-- only when this changes, so a take that cannot be replaced does not cost a conform per
-- poll. Only ids that failed before are opened for this.
local function signature(inbox, names, id)
	local parts = {}
	for _, n in ipairs(names) do
		if paths.parse_clean_name(n) == id then
			local f = io.open(paths.join(inbox, n), "rb")
			local size, head = -1, ""
			if f then
				size = f:seek("end")
				f:seek("set", 0)
				head = f:read(512) or ""
				f:close()
			end
			parts[#parts + 1] = n .. "=" .. size .. ":" .. head
		end
	end
	table.sort(parts)
	return table.concat(parts, ";")
end

local function report(state, m)
	if not state.reported[m] then
		state.reported[m] = true
		slice.msg(m, true)
	end
end

-- One poll: returns the number of recordings replaced.
function watch.poll(state)
	state.polls = state.polls + 1
	if reaper.GetPlayState() & 4 ~= 0 then return 0 end -- recording: wait until it stops
	local cfg = settings.load()
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then report(state, err); return 0 end
	local arrived, sigs = {}, {}
	for _, n in ipairs(names) do
		local id, _, kind = paths.parse_clean_name(n)
		if id and kind == "wav" and not arrived[id] and not memory.is_done(id) then
			if state.tried[id] then
				sigs[id] = signature(cfg.inbox, names, id)
				if sigs[id] ~= state.tried[id] then arrived[id] = true end
			else
				arrived[id] = true
			end
		end
	end
	if next(arrived) == nil then return 0 end
	local n, failures, postponed = replace.run_arrived({
		only = arrived, quiet = true,
		undo_name = "ghostrec: replace takes with clean recordings (automatic)",
	})
	if postponed then return 0 end
	for _, f in ipairs(failures) do report(state, f) end
	-- A take id not done now is tried again when its inbox files change.
	for id in pairs(arrived) do
		if not memory.is_done(id) then state.tried[id] = sigs[id] or signature(cfg.inbox, names, id) end
	end
	return n
end

-- The watcher's life: poll, wait POLL_SECONDS (yielding), poll again.
function watch.run(state)
	while state.running do
		local t = reaper.time_precise()
		watch.poll(state)
		while state.running and reaper.time_precise() - t < watch.POLL_SECONDS do slice.wait() end
	end
end

function watch.start()
	local _, _, section, cmd = reaper.get_action_context()
	local state = watch.new()
	state.running = true
	reaper.SetToggleCommandState(section, cmd, 1)
	reaper.RefreshToolbar2(section, cmd)
	slice.msg("watching the inbox for clean takes (run the action again to stop)", true)
	slice.start("watcher", function() watch.run(state) end, {
		toggle = true, quiet = true,
		on_exit = function()
			state.running = false
			reaper.SetToggleCommandState(section, cmd, 0)
			reaper.RefreshToolbar2(section, cmd)
		end,
	})
	return state
end

return watch
