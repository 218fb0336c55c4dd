-- @noindex
-- ghostrec background watcher: a defer loop that replaces takes as soon as their clean file
-- arrives in the inbox (never while REAPER is recording). Toggle state on while it runs.
local core = require("ghostrec.core")
local settings = require("ghostrec.settings")
local replace = require("ghostrec.replace")

local watch = {}

watch.POLL_SECONDS = 1.0
local MARKER_SCAN_SECONDS = 60 -- as the replace action and ghostrec-sync

function watch.new()
	return {
		marker_of_file = {}, -- REAPER take file -> decoded take id, or false (no marker)
		done = {},           -- take ids replaced
		reported = {},       -- failure messages already shown (no console spam)
		tried = {},          -- take id -> inbox signature of the last failed attempt
		job = nil,           -- coroutine of the poll in progress
		last_poll = nil,
		running = false,
	}
end

watch.yield_slice = replace.yield_slice

-- Take id in a REAPER take file (cached: recorded files do not change).
local function take_id_of(state, file)
	local v = state.marker_of_file[file]
	if v == nil then
		v = false
		local info = core.open_audio(file)
		if info and not info.truncated then
			local m = core.find_take_marker(info, MARKER_SCAN_SECONDS, nil, watch.yield_slice)
			if m then v = m.take_id end
		end
		state.marker_of_file[file] = v
	end
	return v
end

-- What the inbox holds for a take id (names, sizes, headers): a failed attempt is retried only
-- when this changes, so a take that cannot be replaced does not cost a conform per poll.
local function signature(inbox, names, id)
	local parts = {}
	local prefix = "ghostrec-" .. id
	for _, n in ipairs(names) do
		if n == prefix .. ".wav" or n:match("^" .. prefix .. "%-ch%d+%.wav$") or n == prefix .. ".json" then
			-- size plus the header bytes: a re-delivered file differs in one or the other
			local f = io.open(replace.join_path(inbox, n), "rb")
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
		if id and not state.done[id] and not arrived[id] then
			local sig = signature(cfg.inbox, names, id)
			if state.tried[id] ~= sig then arrived[id] = sig end
		end
	end
	if next(arrived) == nil then return 0 end
	local n, failures, postponed, files = replace.run_arrived({
		only = arrived,
		take_id_of = function(file) return take_id_of(state, file) end,
		progress = watch.yield_slice,
		quiet = true,
		undo_name = "ghostrec: replace takes with clean recordings (automatic)",
	})
	if postponed then return 0 end
	for _, f in ipairs(failures) do
		if not state.reported[f] then state.reported[f] = true; replace.msg(f) end
	end
	if not files then return n end
	-- A take id is done once none of its files is left unreplaced; otherwise it is tried
	-- again when its inbox files change.
	local tried, left = {}, {}
	for file, id in pairs(files) do
		if id and arrived[id] then tried[id] = true end
	end
	for _, e in ipairs(replace.all_takes()) do
		local id = files[e.file]
		if id then left[id] = true end
	end
	for id in pairs(tried) do
		if left[id] then state.tried[id] = arrived[id] else state.done[id] = true end
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
		if state.job then
			-- A poll in progress: run its next slice.
			local ok, err = coroutine.resume(state.job)
			if coroutine.status(state.job) == "dead" then
				state.job = nil
				if not ok and not state.reported[err] then
					state.reported[err] = true
					replace.msg("watcher error: " .. tostring(err))
				end
			end
		else
			local now = reaper.time_precise()
			if not state.last_poll or now - state.last_poll >= watch.POLL_SECONDS then
				state.last_poll = now
				state.job = coroutine.create(function() return watch.poll(state) end)
			end
		end
		reaper.defer(loop)
	end
	reaper.defer(loop)
	return state
end

return watch
