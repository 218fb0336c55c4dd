-- @noindex
-- ghostrec background watcher: a defer loop that replaces takes as soon as their clean file
-- arrives in the inbox (never while REAPER is recording). Toggle state on while it runs.
local core = require("ghostrec.core")
local settings = require("ghostrec.settings")
local replace = require("ghostrec.replace")

local watch = {}

watch.POLL_SECONDS = 1.0
local MARKER_SCAN_SECONDS = 10

function watch.new()
	return {
		marker_of_file = {}, -- REAPER take file -> decoded take id, or false (no marker)
		done = {},           -- take ids replaced
		reported = {},       -- failure messages already shown (no console spam)
		last_poll = nil,
		running = false,
	}
end

-- Take id in a REAPER take file (cached: recorded files do not change).
local function take_id_of(state, file)
	local v = state.marker_of_file[file]
	if v == nil then
		v = false
		local info = core.open_audio(file)
		if info and not info.truncated then
			local m = core.find_take_marker(info, MARKER_SCAN_SECONDS)
			if m then v = m.take_id end
		end
		state.marker_of_file[file] = v
	end
	return v
end

-- One poll: returns the number of groups replaced.
function watch.poll(state)
	if reaper.GetPlayState() & 4 ~= 0 then return 0 end -- recording: wait until it stops
	local cfg = settings.load()
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then
		if not state.reported[err] then state.reported[err] = true; replace.msg(err) end
		return 0
	end
	local arrived = {}
	for _, n in ipairs(names) do
		local id = n:match("^ghostrec%-(%d+)%.wav$") or n:match("^ghostrec%-(%d+)%-ch%d+%.wav$")
		id = id and tonumber(id)
		if id and not state.done[id] then arrived[id] = true end
	end
	if next(arrived) == nil then return 0 end
	-- REAPER take files (not yet replaced) whose marker names an arrived take id.
	local files, order = {}, {}
	for _, e in ipairs(replace.all_takes()) do
		if not replace.is_clean_file(e.file) and not files[e.file] then
			local id = take_id_of(state, e.file)
			if id and arrived[id] then
				files[e.file] = id
				order[#order + 1] = e.file
			end
		end
	end
	if #order == 0 then return 0 end
	local groups = replace.groups_for_files(order)
	local n, failures = replace.run_groups(groups, cfg, { undo_name = "ghostrec: replace takes with clean recordings (automatic)" })
	for _, f in ipairs(failures) do
		if not state.reported[f] then state.reported[f] = true; replace.msg(f) end
	end
	if n > 0 then
		-- A take id is done once none of its files is left unreplaced.
		local left = {}
		for _, e in ipairs(replace.all_takes()) do
			local id = files[e.file]
			if id then left[id] = true end
		end
		for _, id in pairs(files) do
			if not left[id] then state.done[id] = true end
		end
	end
	return n
end

function watch.start()
	local _, _, section, cmd = reaper.get_action_context()
	local state = watch.new()
	state.running = true
	reaper.SetToggleCommandState(section, cmd, 1)
	reaper.RefreshToolbar2(section, cmd)
	reaper.atexit(function()
		state.running = false
		reaper.SetToggleCommandState(section, cmd, 0)
		reaper.RefreshToolbar2(section, cmd)
	end)
	replace.msg("watching the inbox for clean takes (run the action again to stop)")
	local function loop()
		if not state.running then return end
		local now = reaper.time_precise()
		if not state.last_poll or now - state.last_poll >= watch.POLL_SECONDS then
			state.last_poll = now
			local ok, err = pcall(watch.poll, state)
			if not ok and not state.reported[err] then
				state.reported[err] = true
				replace.msg("watcher error: " .. tostring(err))
			end
		end
		reaper.defer(loop)
	end
	reaper.defer(loop)
	return state
end

return watch
