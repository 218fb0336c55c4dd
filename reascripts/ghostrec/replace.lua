-- @noindex
-- ghostrec: replace damaged REAPER takes with the clean recordings, mapped through the EDL.
-- Shared by the one-shot action and the background watcher. Reads REAPER's take files, never
-- writes them. Everything is analysed first (read-only); the project is only changed, inside
-- one undo block, once every plan is complete.
local core = require("ghostrec.core")
local settings = require("ghostrec.settings")

local replace = {}

local MARKER_SCAN_SECONDS = 60 -- as ghostrec-sync
local CLEAN_TAG = " [ghostrec clean]"
local ACTION_BUILD_MISSING_PEAKS = 40047 -- "Peaks: Build any missing peaks"

local function msg(s) reaper.ShowConsoleMsg("ghostrec: " .. s .. "\n") end
replace.msg = msg

local function join_path(dir, name)
	if dir:match("[/\\]$") then return dir .. name end
	local sep = dir:find("\\", 1, true) and "\\" or "/"
	return dir .. sep .. name
end
replace.join_path = join_path

local function basename(p) return (p:match("[^/\\]*$")) end

-- Is this one of our clean files (so a take that already plays it is done)?
local function is_clean_file(path)
	local b = basename(path or "")
	return b:match("^ghostrec%-%d+%.%w+$") ~= nil or b:match("^ghostrec%-%d+%-ch%d+%.%w+$") ~= nil
end
replace.is_clean_file = is_clean_file

-- Lists the inbox. Returns a table of names, or nil, message if the folder cannot be read.
function replace.list_inbox(inbox)
	if not inbox or inbox == "" then
		return nil, "no inbox folder set: run 'ghostrec: Settings' and enter the folder the exporter delivers to"
	end
	reaper.EnumerateFiles(inbox, -1) -- force a fresh directory listing
	local names = {}
	local i = 0
	while true do
		local name = reaper.EnumerateFiles(inbox, i)
		if not name or name == "" then break end
		names[#names + 1] = name
		i = i + 1
	end
	if #names == 0 and not reaper.file_exists(join_path(inbox, ".")) then
		-- An empty listing may be a missing folder: tell which.
		local probe = io.open(inbox, "rb")
		if not probe then return nil, "inbox folder not found or not readable: " .. inbox end
		probe:close()
	end
	return names
end

-- Every take in the project, with its item, and its source's file name.
local function all_takes()
	local list = {}
	local n = reaper.CountMediaItems(0)
	for i = 0, n - 1 do
		local item = reaper.GetMediaItem(0, i)
		for t = 0, reaper.CountTakes(item) - 1 do
			local take = reaper.GetTake(item, t)
			if take then
				local src = reaper.GetMediaItemTake_Source(take)
				local file = src and reaper.GetMediaSourceFileName(src) or ""
				if file ~= "" then list[#list + 1] = { item = item, take = take, file = file } end
			end
		end
	end
	return list
end
replace.all_takes = all_takes

-- Groups of takes by REAPER source file: the selected items' active takes plus every other
-- take (loop-recording sections, other items) that plays the same file.
function replace.selected_groups()
	local files, order = {}, {}
	for i = 0, reaper.CountSelectedMediaItems(0) - 1 do
		local item = reaper.GetSelectedMediaItem(0, i)
		local take = reaper.GetActiveTake(item)
		if take then
			local src = reaper.GetMediaItemTake_Source(take)
			local file = src and reaper.GetMediaSourceFileName(src) or ""
			if file ~= "" and not files[file] then
				files[file] = true
				order[#order + 1] = file
			end
		end
	end
	return replace.groups_for_files(order)
end

function replace.groups_for_files(order)
	local by_file = {}
	for _, f in ipairs(order) do by_file[f] = {} end
	for _, e in ipairs(all_takes()) do
		if by_file[e.file] then table.insert(by_file[e.file], e) end
	end
	local groups = {}
	for _, f in ipairs(order) do groups[#groups + 1] = { file = f, takes = by_file[f] } end
	return groups
end

-- Clean file for a take id: the multichannel file, or the per-channel mono file.
local function clean_candidates(inbox, take_id, names)
	local set = {}
	for _, n in ipairs(names) do set[n] = true end
	local multi = core.clean_file_name(take_id)
	local list = {}
	if set[multi] then list[#list + 1] = { path = join_path(inbox, multi) } end
	for ch = 0, 63 do
		local mono = core.clean_file_name(take_id, ch)
		if set[mono] then list[#list + 1] = { path = join_path(inbox, mono), channel = ch } end
	end
	return list
end

-- Conforms a take file against one clean file. Returns plan or nil, message.
local function conform_with(take_info, marker, clean_path, mono_channel_file, progress)
	local ci, err = core.open_audio(clean_path)
	if not ci then return nil, err end
	if ci.truncated then return nil, basename(clean_path) .. " is truncated (still being written?)" end
	if ci.rate ~= take_info.rate then
		return nil, string.format("%s is %d Hz but the take is %d Hz", basename(clean_path), ci.rate, take_info.rate)
	end
	if take_info.channels > 1 and take_info.channels ~= ci.channels then
		return nil, string.format("take has %d channels, %s has %d: cannot map them", take_info.channels,
			basename(clean_path), ci.channels)
	end
	-- Metadata as ghostrec-sync reads it (bext, else sidecar); a lone cue point still helps.
	local meta = core.clean_meta(ci)
	if not meta.valid then
		local md = core.clean_metadata(ci)
		if md.take_id and md.marker_frame then
			meta = { valid = true, take_id = md.take_id, marker_frame = md.marker_frame, gaps = meta.gaps }
		end
	end
	local report
	report, err = core.conform_run(take_info, ci, meta, { marker_scan = MARKER_SCAN_SECONDS * take_info.rate,
		progress = progress })
	if not report then return nil, basename(clean_path) .. ": " .. err end
	local chanmode = nil
	if take_info.channels == 1 and ci.channels > 1 then chanmode = 3 + report.clean_channel end
	return { clean_path = clean_path, clean_info = ci, report = report, chanmode = chanmode,
		mono_channel_file = mono_channel_file }
end

-- Builds the plan for one group (one REAPER source file). Read-only.
-- Returns plan or nil, message.
function replace.plan_group(group, cfg, names, progress)
	for _, e in ipairs(group.takes) do
		if reaper.GetMediaItemTakeInfo_Value(e.take, "D_PLAYRATE") ~= 1 then
			return nil, basename(group.file) .. ": a take plays at a changed rate; reset it to 1.0 first"
		end
	end
	local take_info, err = core.open_audio(group.file)
	if not take_info then return nil, err end
	local marker = core.find_take_marker(take_info, MARKER_SCAN_SECONDS)
	local plan, why
	if marker then
		local cands = clean_candidates(cfg.inbox, marker.take_id, names)
		if #cands == 0 then
			return nil, string.format("%s: marker says take %d, but %s is not in %s", basename(group.file),
				marker.take_id, core.clean_file_name(marker.take_id), cfg.inbox)
		end
		for _, c in ipairs(cands) do
			if c.channel == nil or (take_info.channels == 1 and c.channel == marker.channel) then
				plan, why = conform_with(take_info, marker, c.path, c.channel ~= nil, progress)
				if plan then break end
			end
		end
		if not plan then return nil, basename(group.file) .. ": " .. (why or "no usable clean file") end
	else
		-- No marker (punch-in, or the marker was lost): try recent clean files by content.
		local ids = {}
		for _, n in ipairs(names) do
			local id = n:match("^ghostrec%-(%d+)%.wav$")
			if id then ids[#ids + 1] = tonumber(id) end
		end
		table.sort(ids, function(a, b) return a > b end)
		for i = 1, math.min(#ids, cfg.search_recent) do
			plan = conform_with(take_info, nil, join_path(cfg.inbox, core.clean_file_name(ids[i])), false, progress)
			if plan then break end
		end
		if not plan then
			return nil, basename(group.file) .. ": no sync marker, and no clean file in the inbox matches its audio"
		end
	end
	plan.group, plan.take_info, plan.marker = group, take_info, marker
	return plan
end

-- Offset d (clean frame - take frame) that applies from take frame tf on: the segment holding
-- tf; inside a gap (inserted frames) the segment before it; outside, the nearest segment.
local function offset_at(segs, tf)
	local d = segs[1].clean_start - segs[1].take_start
	for _, s in ipairs(segs) do
		if tf >= s.take_start then d = s.clean_start - s.take_start else break end
	end
	return d
end

-- Joins (take frames where the offset changes) inside (a, b), with the gap before each.
local function joins_in(segs, a, b)
	local list = {}
	for k = 2, #segs do
		local j = segs[k].take_start
		if j > a and j < b then
			list[#list + 1] = { frame = j, gap = j - segs[k - 1].take_end }
		end
	end
	return list
end

local function glitch_name(g, rate)
	local ms = g.frames * 1000 / rate
	return string.format("ghostrec: %s %d frame%s (%.2f ms)", g.kind, g.frames, g.frames == 1 and "" or "s", ms)
end

-- Opens one clean source per take; nil if the file cannot be opened (nothing created).
local function open_sources(path, n)
	local list = {}
	for i = 1, n do
		list[i] = reaper.PCM_Source_CreateFromFile(path)
		if not list[i] then
			for j = 1, i - 1 do reaper.PCM_Source_Destroy(list[j]) end
			return nil
		end
	end
	return list
end

-- Where each take of the group starts in the REAPER file (frames, may be fractional), the
-- union of their joins inside the item (timeline seconds), and glitch markers.
local function survey_item(plan, cfg, takes, P, L, counts)
	local r = plan.take_info.rate
	local starts, joins, seen = {}, {}, {}
	for _, take in ipairs(takes) do
		local t0 = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS") * r
		starts[take] = t0
		for _, j in ipairs(joins_in(plan.report.segments, t0, t0 + L * r)) do
			local time = P + (j.frame - t0) / r
			local key = string.format("%.9f", time)
			if not seen[key] then
				seen[key] = true
				joins[#joins + 1] = { time = time, gap = j.gap / r }
			end
		end
		if cfg.markers then
			for _, g in ipairs(plan.report.glitches) do
				if g.take_frame >= t0 and g.take_frame < t0 + L * r then
					local name = glitch_name(g, r)
					if #takes > 1 then
						local _, tname = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
						name = name .. " [" .. (tname or "") .. "]"
					end
					reaper.AddProjectMarker2(0, false, P + (g.take_frame - t0) / r, 0, name, -1, 0)
					counts.markers = counts.markers + 1
				end
			end
		end
	end
	table.sort(joins, function(a, b) return a.time < b.time end)
	return starts, joins
end

-- Splits the item at every join. Returns pieces {item, s, e, join} (timeline seconds).
local function split_at_joins(item, P, L, joins, counts)
	local pieces = { { item = item, s = P, e = P + L } }
	local cur = item
	for _, j in ipairs(joins) do
		local right = reaper.SplitMediaItem(cur, j.time)
		if right then
			pieces[#pieces].e = j.time
			pieces[#pieces + 1] = { item = right, s = j.time, e = P + L, join = j }
			cur = right
			counts.splits = counts.splits + 1
		end
	end
	return pieces
end

-- Overlaps at each join: the right piece reaches back over the gap (inserted frames) plus
-- half a crossfade, the left one forward by half a crossfade; the halves are clamped so
-- neighbouring crossfades never meet and nothing reaches outside the item.
local function plan_overlaps(pieces, half)
	for i = 2, #pieces do
		local pc, prev = pieces[i], pieces[i - 1]
		local room = math.min(pc.e - pc.s, prev.e - prev.s) / 4
		local h = math.min(half, room)
		pc.pre = math.min(pc.join.gap + h, pc.s - prev.s)
		prev.post = h
	end
	for _, pc in ipairs(pieces) do
		pc.pre, pc.post = pc.pre or 0, pc.post or 0
	end
end

-- Positions one piece, sets its fades, and points every take at the right audio: takes of
-- the group at the clean frame of the piece's first frame, other takes kept in place.
local function place_piece(pieces, i, t0_by_index, plan, P, fade_in, fade_out)
	local r = plan.take_info.rate
	local pc, nxt = pieces[i], pieces[i + 1]
	local pre = pc.pre
	local pos = pc.s - pre
	reaper.SetMediaItemInfo_Value(pc.item, "D_POSITION", pos)
	reaper.SetMediaItemInfo_Value(pc.item, "D_LENGTH", (pc.e + pc.post) - pos)
	reaper.SetMediaItemInfo_Value(pc.item, "D_FADEINLEN_AUTO", -1)
	reaper.SetMediaItemInfo_Value(pc.item, "D_FADEOUTLEN_AUTO", -1)
	if pc.join then
		reaper.SetMediaItemInfo_Value(pc.item, "D_FADEINLEN", pre + pieces[i - 1].post)
		reaper.SetMediaItemInfo_Value(pc.item, "C_FADEINSHAPE", 0)
	else
		reaper.SetMediaItemInfo_Value(pc.item, "D_FADEINLEN", fade_in)
	end
	if nxt then
		reaper.SetMediaItemInfo_Value(pc.item, "D_FADEOUTLEN", nxt.pre + pc.post)
		reaper.SetMediaItemInfo_Value(pc.item, "C_FADEOUTSHAPE", 0)
	else
		reaper.SetMediaItemInfo_Value(pc.item, "D_FADEOUTLEN", fade_out)
	end
	-- Split pieces keep the item's take order, so takes are matched by index.
	for k = 0, reaper.CountTakes(pc.item) - 1 do
		local take = reaper.GetTake(pc.item, k)
		local t0 = t0_by_index[k]
		if t0 then
			local tf = t0 + (pc.s - P) * r -- take frame at the piece's join
			local d = offset_at(plan.report.segments, math.floor(tf + 0.5))
			reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", (tf + d - pre * r) / r)
		elseif pre > 0 then
			-- another take of the item (not this recording): the piece starts `pre` earlier
			local so = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS")
			local rate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE")
			reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", so - pre * rate)
		end
	end
end

-- Replaces the group's takes in one item. Returns false (item untouched) if the clean file
-- cannot be opened.
local function apply_item(plan, cfg, item, takes, counts)
	local sources = open_sources(plan.clean_path, #takes)
	if not sources then return false end
	local P = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
	local L = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
	local fade_in = reaper.GetMediaItemInfo_Value(item, "D_FADEINLEN")
	local fade_out = reaper.GetMediaItemInfo_Value(item, "D_FADEOUTLEN")
	local starts, joins = survey_item(plan, cfg, takes, P, L, counts)

	-- New clean source on every take of the group; the old source is destroyed (REAPER
	-- leaves that to the caller). The recorded file itself stays as it is.
	for i, take in ipairs(takes) do
		local old = reaper.GetMediaItemTake_Source(take)
		reaper.SetMediaItemTake_Source(take, sources[i])
		if old then reaper.PCM_Source_Destroy(old) end
		-- The take's name says it now plays the clean recording.
		local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
		if not (name or ""):find(CLEAN_TAG, 1, true) then
			reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", (name or "") .. CLEAN_TAG, true)
		end
		if plan.chanmode and not plan.mono_channel_file then
			reaper.SetMediaItemTakeInfo_Value(take, "I_CHANMODE", plan.chanmode)
		end
		counts.takes = counts.takes + 1
	end
	local t0_by_index = {}
	for k = 0, reaper.CountTakes(item) - 1 do
		local t0 = starts[reaper.GetTake(item, k)]
		if t0 then t0_by_index[k] = t0 end
	end

	local pieces = split_at_joins(item, P, L, joins, counts)
	-- Linear (equal-gain) fades, C_FADE*SHAPE 0: both sides of a join are the same
	-- continuous performance a few milliseconds apart, i.e. correlated material, where an
	-- equal-gain crossfade keeps the level. ghostrec-sync renders equal-power (sin/cos)
	-- crossfades instead; REAPER's API documents the shapes only as "0..6, 0=linear", so no
	-- other shape can be said to be equal-power (nor rendered exactly by the tests' mock).
	plan_overlaps(pieces, (cfg.join == "crossfade") and (cfg.xfade_ms / 1000 / 2) or 0)
	for i = 1, #pieces do place_piece(pieces, i, t0_by_index, plan, P, fade_in, fade_out) end
	return true
end

-- Applies a plan to every take of its group. Must run inside an undo block.
-- Returns counts {takes, splits, markers, failed}.
function replace.apply(plan, cfg)
	local counts = { takes = 0, splits = 0, markers = 0 }
	-- Takes by item (loop recording puts several sections into one item).
	local by_item, item_order = {}, {}
	for _, e in ipairs(plan.group.takes) do
		if not by_item[e.item] then by_item[e.item] = {}; item_order[#item_order + 1] = e.item end
		table.insert(by_item[e.item], e.take)
	end
	for _, item in ipairs(item_order) do
		if not apply_item(plan, cfg, item, by_item[item], counts) then
			counts.failed = (counts.failed or 0) + 1
		end
	end
	return counts
end

local function summarize(plan, counts)
	local k = { dropped = 0, inserted = 0, replaced = 0 }
	for _, g in ipairs(plan.report.glitches) do k[g.kind] = (k[g.kind] or 0) + 1 end
	return string.format("%s -> %s (take %s, %s alignment): %d glitch%s fixed (%d dropped, %d inserted, %d replaced), %d take%s, %d split%s",
		basename(plan.group.file), basename(plan.clean_path), tostring(plan.report.take_id), plan.report.alignment,
		#plan.report.glitches, #plan.report.glitches == 1 and "" or "es", k.dropped, k.inserted, k.replaced,
		counts.takes, counts.takes == 1 and "" or "s", counts.splits, counts.splits == 1 and "" or "s")
end

-- Plans every group, then applies those that worked in one undo block.
-- Returns number of groups replaced, list of failure messages.
function replace.run_groups(groups, cfg, opts)
	opts = opts or {}
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then return 0, { err } end
	local plans, failures = {}, {}
	for _, g in ipairs(groups) do
		if is_clean_file(g.file) then
			failures[#failures + 1] = basename(g.file) .. " is already a clean recording"
		else
			local plan, why = replace.plan_group(g, cfg, names, opts.progress)
			if plan then plans[#plans + 1] = plan else failures[#failures + 1] = why end
		end
	end
	-- Analysis may have been spread over several UI cycles (background watcher): make sure
	-- the takes are still there and REAPER is not recording before touching anything.
	if #plans > 0 and opts.progress then
		if reaper.GetPlayState() & 4 ~= 0 then return 0, failures, "recording started" end
		local still = {}
		for _, plan in ipairs(plans) do
			local ok = true
			for _, e in ipairs(plan.group.takes) do
				if reaper.ValidatePtr2 and not (reaper.ValidatePtr2(0, e.item, "MediaItem*") and
					reaper.ValidatePtr2(0, e.take, "MediaItem_Take*")) then
					ok = false
				end
			end
			if ok then still[#still + 1] = plan end
		end
		plans = still
	end
	if #plans == 0 then return 0, failures end
	reaper.Undo_BeginBlock()
	reaper.PreventUIRefresh(1)
	local lines = {}
	for _, plan in ipairs(plans) do
		local counts = replace.apply(plan, cfg)
		lines[#lines + 1] = summarize(plan, counts)
		if counts.failed then
			lines[#lines + 1] = string.format("%d item(s) left unchanged: %s could not be opened", counts.failed,
				basename(plan.clean_path))
		end
	end
	reaper.PreventUIRefresh(-1)
	reaper.Main_OnCommand(ACTION_BUILD_MISSING_PEAKS, 0) -- waveforms of the clean files
	reaper.UpdateArrange()
	reaper.Undo_EndBlock(opts.undo_name or "ghostrec: replace takes with clean recordings", -1)
	for _, l in ipairs(lines) do msg(l) end
	return #plans, failures
end

-- Yields to REAPER's UI between slices of long work when running as a coroutine.
function replace.yield_slice()
	if coroutine.isyieldable() then coroutine.yield() end
end

-- Runs fn as a coroutine, one slice per REAPER UI cycle (defer), so a long take does not
-- freeze REAPER. Errors go to the console.
function replace.run_async(fn)
	local co = coroutine.create(fn)
	local function step()
		local ok, err = coroutine.resume(co)
		if not ok then
			msg("error: " .. tostring(err))
		elseif coroutine.status(co) ~= "dead" then
			reaper.defer(step)
		end
	end
	step()
end

-- The one-shot action. opts.progress: called during long analysis (see yield_slice).
function replace.run_selected(opts)
	opts = opts or {}
	local cfg = settings.load()
	if reaper.GetPlayState() & 4 ~= 0 then
		reaper.MB("REAPER is recording: stop first, then replace the takes.", "ghostrec", 0)
		return 0
	end
	if reaper.CountSelectedMediaItems(0) == 0 then
		reaper.MB("Select the items whose takes should be replaced with the clean recordings.", "ghostrec", 0)
		return 0
	end
	local groups = replace.selected_groups()
	local done, failures, postponed = replace.run_groups(groups, cfg, { progress = opts.progress })
	if postponed then
		reaper.MB("Recording started while the takes were being analysed: nothing was changed.", "ghostrec", 0)
		return 0
	end
	for _, f in ipairs(failures) do msg(f) end
	if done == 0 then
		reaper.MB("Nothing was replaced.\n\n" .. table.concat(failures, "\n"), "ghostrec", 0)
	end
	return done, failures
end

-- Every REAPER recording in the project whose clean take (by marker) is in the inbox: for
-- running from a toolbar or remotely (the exporter can trigger it over OSC with
-- /action/str after a delivery). Console messages only, no dialogs.
-- `take_id_of(file)` may supply cached marker lookups (the watcher's).
function replace.run_arrived(opts)
	opts = opts or {}
	local cfg = settings.load()
	if reaper.GetPlayState() & 4 ~= 0 then return 0, {}, "recording" end
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then
		if not opts.quiet then msg(err) end
		return 0, { err }
	end
	local present = {}
	for _, n in ipairs(names) do
		local id = n:match("^ghostrec%-(%d+)%.wav$") or n:match("^ghostrec%-(%d+)%-ch%d+%.wav$")
		if id then present[tonumber(id)] = true end
	end
	local files, order = {}, {}
	for _, e in ipairs(all_takes()) do
		if not is_clean_file(e.file) and files[e.file] == nil then
			local id
			if opts.take_id_of then
				id = opts.take_id_of(e.file)
			else
				local info = core.open_audio(e.file)
				local m = info and core.find_take_marker(info, MARKER_SCAN_SECONDS)
				id = m and m.take_id
			end
			files[e.file] = id or false
			if id and present[id] and (not opts.only or opts.only[id]) then order[#order + 1] = e.file end
		end
	end
	if #order == 0 then
		if not opts.quiet then msg("no recording in this project has its clean take in the inbox yet") end
		return 0, {}
	end
	local n, failures, postponed = replace.run_groups(replace.groups_for_files(order), cfg, {
		undo_name = opts.undo_name or "ghostrec: replace takes with clean recordings",
		progress = opts.progress,
	})
	if not opts.quiet then
		for _, f in ipairs(failures) do msg(f) end
	end
	return n, failures, postponed, files
end

return replace
