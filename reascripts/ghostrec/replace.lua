-- @noindex
-- ghostrec: replace damaged REAPER takes with the clean recordings, mapped through the EDL.
-- Shared by the actions and the background watcher. Everything runs in slices (ghostrec.slice)
-- inside a coroutine: the takes are analysed first (read-only), the clean files are copied
-- into the project's media folder, then the project is changed in one UI slice, inside one
-- undo block, after checking that nobody changed those takes meanwhile. REAPER's recorded
-- files are read, never written.
local core = require("ghostrec.core")
local settings = require("ghostrec.settings")
local slice = require("ghostrec.slice")
local paths = require("ghostrec.paths")
local memory = require("ghostrec.memory")
local place = require("ghostrec.place")

local replace = {}

local MARKER_SCAN_SECONDS = 60 -- as ghostrec-sync
local ACTION_BUILD_MISSING_PEAKS = 40047 -- "Peaks: Build any missing peaks"
replace.SETTINGS_ACTION = "Script: ghostrec_Settings.lua"

local basename, join = paths.basename, paths.join
replace.join_path = join
replace.is_clean_file = paths.is_clean_file
replace.msg = slice.msg

---------------------------------------------------------------------------------------------
-- Where clean takes are: the project's media folder (copies already made), the inbox, and
-- the inbox's done/ folder (handled deliveries).
---------------------------------------------------------------------------------------------

-- Lists the inbox. Returns a table of names, or nil, message.
function replace.list_inbox(inbox)
	if not inbox or inbox == "" then
		return nil, "no inbox folder set: run the action '" .. replace.SETTINGS_ACTION ..
			"' and enter the folder the exporter delivers to"
	end
	local names = paths.list(inbox)
	if not names then return nil, "inbox folder not found or not readable: " .. inbox end
	return names
end

function replace.media_dir()
	local d = reaper.GetProjectPathEx(0)
	if not d or d == "" then d = reaper.GetProjectPath() end
	return d
end

-- The clean files known for every take id: folders in search order.
local function clean_index(cfg, names)
	local idx = { by_id = {} }
	local function add(dir, list)
		for _, n in ipairs(list or {}) do
			local id, ch, kind = paths.parse_clean_name(n)
			if id and kind == "wav" then
				local e = idx.by_id[id]
				if not e then e = { multi = nil, mono = {} }; idx.by_id[id] = e end
				local path = join(dir, n)
				if ch then
					if not e.mono[ch] then e.mono[ch] = path end
				elseif not e.multi then
					e.multi = path
				end
			end
		end
	end
	local media = replace.media_dir()
	add(media, paths.list(media))
	add(cfg.inbox, names)
	add(join(cfg.inbox, "done"), paths.list(join(cfg.inbox, "done")))
	return idx
end

---------------------------------------------------------------------------------------------
-- The project's takes
---------------------------------------------------------------------------------------------

-- A take's recorded file and where the take reads it: a SECTION source (Item properties:
-- section, reverse) wraps the file. Returns {file, section_offs, reversed} or nil.
local function take_file(take)
	local src = reaper.GetMediaItemTake_Source(take)
	if not src then return nil end
	local offs, reversed, looped = 0, false, false
	while reaper.GetMediaSourceType(src, "") == "SECTION" do
		local ok, o, len, rev = reaper.PCM_Source_GetSectionInfo(src)
		if ok then
			offs = offs + o
			if rev then reversed = true end
			local item = reaper.GetMediaItemTake_Item(take)
			if reaper.GetMediaItemInfo_Value(item, "D_LENGTH") > len + 1e-9 then looped = true end
		end
		local parent = reaper.GetMediaSourceParent(src)
		if not parent then return nil end
		src = parent
	end
	local file = reaper.GetMediaSourceFileName(src, "")
	if not file or file == "" then return nil end
	return { file = file, section_offs = offs, reversed = reversed, looped = looped }
end

-- Every take in the project (empty take lanes have none), with its item and file.
local function all_takes()
	local list = {}
	for i = 0, reaper.CountMediaItems(0) - 1 do
		local item = reaper.GetMediaItem(0, i)
		for t = 0, reaper.CountTakes(item) - 1 do
			local take = reaper.GetTake(item, t)
			if take then
				local tf = take_file(take)
				if tf then
					tf.item, tf.take = item, take
					list[#list + 1] = tf
				end
			end
		end
	end
	return list
end
replace.all_takes = all_takes

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

-- Groups of takes by recorded file: the selected items' active takes plus every other take
-- (loop-recording sections, other items) that plays the same file. Also returns why a
-- selected item has nothing to replace.
function replace.selected_groups()
	local files, order, skipped = {}, {}, {}
	for i = 0, reaper.CountSelectedMediaItems(0) - 1 do
		local item = reaper.GetSelectedMediaItem(0, i)
		local take = reaper.GetActiveTake(item)
		local tf = take and take_file(take)
		if not take then
			skipped[#skipped + 1] = "a selected item's active take lane is empty"
		elseif not tf then
			skipped[#skipped + 1] = "a selected item's take plays no audio file"
		else
			if not files[tf.file] then
				files[tf.file] = true
				order[#order + 1] = tf.file
			end
			-- Loop recording with "create new files on loop": the item's other lanes hold the
			-- other passes, in files of their own without a marker; they go along with a
			-- lane that has one.
			local lanes, marked = {}, false
			for k = 0, reaper.CountTakes(item) - 1 do
				local other = reaper.GetTake(item, k)
				local of = other and take_file(other)
				if of and not paths.is_clean_file(of.file) then
					local id = replace.take_id_of(of.file)
					if id then marked = true end
					lanes[#lanes + 1] = of.file
				end
			end
			if marked then
				for _, f in ipairs(lanes) do
					if not files[f] then files[f] = true; order[#order + 1] = f end
				end
			end
		end
	end
	return replace.groups_for_files(order), skipped
end

-- Take id in a recorded file's marker (remembered in the project: recordings do not change).
function replace.take_id_of(file)
	local v = memory.take_id(file)
	if v ~= nil then return v end
	local info = core.open_audio(file)
	if not info or info.truncated then return false end
	local m = core.find_take_marker(info, MARKER_SCAN_SECONDS, nil, slice.progress)
	v = m and m.take_id or false
	memory.set_take_id(file, v, info.frames)
	return v
end

-- Take ids of other recorded files played by the same items or the same record pass (loop
-- recording with "create new files on loop": only the first pass's file has the marker).
-- `takes`: all_takes(), when the caller has it already.
local function sibling_ids(group, takes)
	local ids, seen = {}, {}
	local items, passes = {}, {}
	for _, e in ipairs(group.takes) do
		items[e.item] = true
		local pass = reaper.GetMediaItemTakeInfo_Value(e.take, "I_RECPASSID")
		if pass and pass > 0 then passes[pass] = true end
	end
	for _, e in ipairs(takes or all_takes()) do
		if e.file ~= group.file and not paths.is_clean_file(e.file) then
			local pass = reaper.GetMediaItemTakeInfo_Value(e.take, "I_RECPASSID")
			if items[e.item] or (pass and passes[pass]) then
				local id = memory.take_id(e.file)
				if id and not seen[id] then seen[id] = true; ids[#ids + 1] = id end
			end
		end
	end
	return ids
end

---------------------------------------------------------------------------------------------
-- Planning (read-only)
---------------------------------------------------------------------------------------------

local function strip_path(err, path)
	err = tostring(err)
	local p = err:find(path, 1, true)
	if p == 1 then err = err:sub(#path + 1):gsub("^:%s*", "") end
	return err
end

-- Conforms a recorded file against one clean file. Returns plan or nil, message.
local function conform_with(take_info, clean_path, mono_channel_file)
	local ci, err = core.open_audio(clean_path)
	if not ci then return nil, basename(clean_path) .. ": " .. strip_path(err, clean_path) end
	if ci.truncated then return nil, basename(clean_path) .. " is truncated (still being written?)" end
	if ci.rate ~= take_info.rate then
		return nil, string.format("%s is %d Hz but the take is %d Hz", basename(clean_path), ci.rate, take_info.rate)
	end
	if take_info.channels > 2 and take_info.channels ~= ci.channels then
		return nil, string.format("take has %d channels, %s has %d: cannot map them", take_info.channels,
			basename(clean_path), ci.channels)
	end
	local meta = core.clean_meta(ci)
	if not meta.valid then
		local md = core.clean_metadata(ci)
		if md.take_id and md.marker_frame then
			meta = { valid = true, take_id = md.take_id, marker_frame = md.marker_frame, gaps = meta.gaps }
		end
	end
	local report
	report, err = core.conform_run(take_info, ci, meta, { marker_scan = MARKER_SCAN_SECONDS * take_info.rate,
		progress = slice.progress, yield = slice.maybe_yield })
	if not report then return nil, basename(clean_path) .. ": " .. err end
	local chanmode = nil
	if not mono_channel_file and take_info.channels < ci.channels then
		if take_info.channels == 1 then
			chanmode = 3 + report.clean_channel -- mono channel N+1
		else
			chanmode = 67 + report.clean_channel -- stereo pair N+1/N+2
		end
	end
	return { clean_path = clean_path, clean_info = ci, clean_frames = ci.frames, report = report, chanmode = chanmode }
end

local function candidates_for(idx, id, take_channels, marker_channel)
	local e = idx.by_id[id]
	local list = {}
	if not e then return list end
	if e.multi then list[#list + 1] = { path = e.multi } end
	if take_channels == 1 then
		for ch, path in pairs(e.mono) do
			if marker_channel == nil or ch == marker_channel then list[#list + 1] = { path = path, mono = true } end
		end
	end
	return list
end

-- Builds the plan for one group (one recorded file). Read-only. `ids`, for a file without a
-- marker: clean take ids to compare it with by content. Returns plan or nil, message.
function replace.plan_group(group, cfg, idx, ids)
	local name = basename(group.file)
	for _, e in ipairs(group.takes) do
		if reaper.GetMediaItemTakeInfo_Value(e.take, "D_PLAYRATE") ~= 1 then
			return nil, name .. ": a take plays at a changed rate; reset it to 1.0 first"
		end
		if e.reversed then return nil, name .. ": a take plays it reversed; un-reverse it first (Item properties)" end
		if e.looped then return nil, name .. ": a take loops a section of it; not replaced" end
	end
	local take_info, err = core.open_audio(group.file)
	if not take_info then return nil, name .. ": " .. strip_path(err, group.file) end
	local marker = nil
	if memory.take_id(group.file) ~= false then -- known to have no marker: not scanned again
		marker = core.find_take_marker(take_info, MARKER_SCAN_SECONDS, nil, slice.progress)
		memory.set_take_id(group.file, marker and marker.take_id or false)
	end
	local plan, why
	if marker then
		local cands = candidates_for(idx, marker.take_id, take_info.channels, marker.channel)
		if #cands == 0 then
			return nil, string.format("%s: its marker says take %d, but %s is not in %s", name, marker.take_id,
				core.clean_file_name(marker.take_id), cfg.inbox)
		end
		for _, c in ipairs(cands) do
			plan, why = conform_with(take_info, c.path, c.mono)
			if plan then break end
		end
		if not plan then return nil, name .. ": " .. (why or "no usable clean file") end
	else
		-- No marker (punch-in, a later loop pass in its own file, or the marker was lost):
		-- compare by content with the given clean takes.
		local tried = {}
		for _, id in ipairs(ids or {}) do
			for _, c in ipairs(candidates_for(idx, id, take_info.channels, nil)) do
				plan = conform_with(take_info, c.path, c.mono)
				if plan then break end
			end
			if plan then break end
			tried[#tried + 1] = id
		end
		if not plan then
			group.tried_ids = tried
			return nil, name .. ": no sync marker, and " .. (#tried == 0 and "no clean take to compare it with" or
				"none of the clean takes compared with it (" .. #tried .. ") holds its audio")
		end
	end
	plan.group, plan.take_info, plan.marker = group, take_info, marker
	plan.take_id = plan.report.take_id or (marker and marker.take_id)
	return plan
end

-- Frames of an audio file (header only), cached per index.
local function frames_of(idx, path)
	idx.frames = idx.frames or {}
	local n = idx.frames[path]
	if n == nil then
		local info = core.open_audio(path)
		n = info and info.frames or false
		idx.frames[path] = n
	end
	return n
end

-- Clean ids to compare a marker-less file with: its siblings' ids first, then the newest
-- clean takes (up to search_recent), or only `only` when given. Automatic runs compare a
-- file with a clean take once (project memory), and only with clean takes at least as
-- long as the recording (the exporter records before and after REAPER does).
local function content_ids(group, cfg, idx, only, auto, takes)
	local ids, seen = {}, {}
	if auto then
		local n = select(2, memory.take_id(group.file)) or frames_of(idx, group.file)
		local keep = {}
		for id, e in pairs(idx.by_id) do
			local c = e.multi or select(2, next(e.mono))
			local cn = c and frames_of(idx, c)
			if not n or not cn or cn < n then keep[id] = false end
		end
		local base = only
		only = {}
		for id in pairs(idx.by_id) do
			if keep[id] ~= false and (not base or base[id]) then only[id] = true end
		end
	end
	for _, id in ipairs(sibling_ids(group, takes)) do
		if idx.by_id[id] and not (auto and (memory.was_tried(group.file, id) or not only[id])) then
			seen[id] = true
			ids[#ids + 1] = id
		end
	end
	local recent = {}
	for id in pairs(idx.by_id) do
		if not seen[id] and (not only or only[id]) and not (auto and memory.was_tried(group.file, id)) then
			recent[#recent + 1] = id
		end
	end
	table.sort(recent, function(a, b) return a > b end)
	for i = 1, math.min(#recent, cfg.search_recent) do ids[#ids + 1] = recent[i] end
	return ids
end

---------------------------------------------------------------------------------------------
-- Copying, checking, applying
---------------------------------------------------------------------------------------------

-- The clean file in the project's media folder (copied there once, with its sidecar), so
-- the project keeps playing when the share is gone and REAPER's peaks stay out of the inbox.
local function local_copy(path)
	local media = replace.media_dir()
	reaper.RecursiveCreateDirectory(media, 0)
	if paths.dirname(path) == media then return path end
	local dst = join(media, basename(path))
	local size = paths.file_size(path)
	if not size or paths.file_size(dst) ~= size then
		local ok, err = paths.copy(path, dst)
		if not ok then return nil, err end
	end
	local id = paths.parse_clean_name(basename(path))
	local side = join(paths.dirname(path), "ghostrec-" .. id .. ".json")
	if paths.file_size(side) and not paths.file_size(join(media, basename(side))) then
		paths.copy(side, join(media, basename(side)))
	end
	return dst
end

-- A 16/24-bit recording plays the clean audio in its own integers (ghostrec.takeformat):
-- written once into the project's media folder, from the clean file, with the integer
-- convention learned from the recording, so the replaced take equals the recording bit for
-- bit wherever REAPER recorded it undamaged (a null test is digital silence there).
-- Returns the path or nil, message.
local function take_format_copy(plan)
	local ti, ci, report = plan.take_info, plan.clean_info, plan.report
	local conv = core.learn_convention(report, ti, ci, { yield = slice.maybe_yield })
	local id, ch = paths.parse_clean_name(basename(plan.clean_path))
	id = plan.take_id or id
	-- (a per-channel clean file's channel 0 is the take's channel N: named absolutely)
	local first = (ch or 0) + report.clean_channel
	local media = replace.media_dir()
	reaper.RecursiveCreateDirectory(media, 0)
	local dst = join(media, core.file_name(id, first, ti.channels, ti.bits, conv))
	if paths.file_size(dst) == core.file_bytes(ti, ci) then return dst end
	local tmp = dst .. ".part"
	os.remove(tmp)
	slice.on_abort(tmp, function() os.remove(tmp) end)
	local ok, err = core.write_clean_as_take(report, ti, ci, conv, tmp, { yield = slice.maybe_yield })
	slice.on_abort(tmp, nil)
	if not ok then os.remove(tmp); return nil, err end
	os.remove(dst)
	ok, err = os.rename(tmp, dst)
	if not ok then os.remove(tmp); return nil, "cannot rename " .. tmp .. ": " .. tostring(err) end
	return dst
end

-- Do the plan's takes still exist and play the recording (another instance may have
-- replaced them meanwhile, or the user deleted them)?
local function still_valid(plan)
	for _, e in ipairs(plan.group.takes) do
		if reaper.ValidatePtr2 and not (reaper.ValidatePtr2(0, e.item, "MediaItem*") and
			reaper.ValidatePtr2(0, e.take, "MediaItem_Take*")) then
			return false
		end
		local tf = take_file(e.take)
		if not tf or tf.file ~= plan.group.file then return false end
	end
	return true
end

local function apply_plan(plan, cfg)
	local counts = { takes = 0, splits = 0, markers = 0 }
	local r = plan.take_info.rate
	local by_item, item_order = {}, {}
	for _, e in ipairs(plan.group.takes) do
		if not by_item[e.item] then by_item[e.item] = {}; item_order[#item_order + 1] = e.item end
		local t0 = (reaper.GetMediaItemTakeInfo_Value(e.take, "D_STARTOFFS") + e.section_offs) * r
		table.insert(by_item[e.item], { take = e.take, t0 = t0 })
	end
	for _, item in ipairs(item_order) do
		if not place.apply_item(plan, cfg, item, by_item[item], counts) then counts.failed = (counts.failed or 0) + 1 end
	end
	return counts
end

local function summarize(plan, counts)
	local k = {}
	for _, g in ipairs(plan.report.glitches) do k[g.kind] = (k[g.kind] or 0) + 1 end
	local kinds = {}
	for _, kind in ipairs({ "dropped", "inserted", "replaced", "gap" }) do
		if k[kind] then kinds[#kinds + 1] = k[kind] .. " " .. kind end
	end
	return string.format("%s -> %s (take %s, %s alignment): %d glitch%s fixed%s, %d take%s, %d split%s",
		basename(plan.group.file), basename(plan.clean_path), tostring(plan.take_id), plan.report.alignment,
		#plan.report.glitches, #plan.report.glitches == 1 and "" or "es",
		#kinds > 0 and (" (" .. table.concat(kinds, ", ") .. ")") or "",
		counts.takes, counts.takes == 1 and "" or "s", counts.splits, counts.splits == 1 and "" or "s")
end

-- Moves a take id's inbox files to done/ once no recording of it is left unreplaced.
local function retire(cfg, names, id)
	for _, e in ipairs(all_takes()) do
		if not paths.is_clean_file(e.file) and memory.take_id(e.file) == id then return end
	end
	local done = join(cfg.inbox, "done")
	for _, n in ipairs(names) do
		if paths.parse_clean_name(n) == id then paths.move_into(join(cfg.inbox, n), done) end
	end
end

-- Plans every group, copies the clean files, then applies the plans that still hold in one
-- undo block (one UI slice). Must run in a coroutine holding the lock (slice.acquire).
-- opts: quiet, undo_name, only (take ids), auto (automatic run: content search only against
-- `only`, remembered). Returns number of groups replaced, failure messages, postponed.
function replace.run_groups(groups, cfg, opts)
	opts = opts or {}
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then return 0, { err } end
	local idx = clean_index(cfg, names)
	local plans, failures = {}, {}
	local takes = all_takes() -- (planning changes nothing; still_valid checks before applying)
	for _, g in ipairs(groups) do
		if paths.is_clean_file(g.file) then
			failures[#failures + 1] = basename(g.file) .. " is already a clean recording"
		else
			local ids = content_ids(g, cfg, idx, opts.only, opts.auto, takes)
			local plan, why = replace.plan_group(g, cfg, idx, ids)
			if plan then
				plans[#plans + 1] = plan
			else
				failures[#failures + 1] = why
				if opts.auto then
					for _, id in ipairs(g.tried_ids or {}) do memory.set_tried(g.file, id) end
				end
			end
		end
		if reaper.GetPlayState() & 4 ~= 0 then return 0, failures, "recording started" end
	end
	local ready = {}
	for _, plan in ipairs(plans) do
		-- (the clean file is copied for 16/24-bit recordings too: the project keeps it)
		local path, cerr = local_copy(plan.clean_path)
		if path and core.takes_integers(plan.take_info) then
			path, cerr = take_format_copy(plan)
			if path then plan.chanmode = nil end -- it holds the take's channels only
		end
		if path then
			plan.source_path, plan.clean_path = plan.clean_path, path
			ready[#ready + 1] = plan
		else
			failures[#failures + 1] = basename(plan.group.file) .. ": " .. cerr
		end
	end
	-- Analysis and copying took several UI cycles: check again before touching anything.
	if reaper.GetPlayState() & 4 ~= 0 then return 0, failures, "recording started" end
	plans = {}
	for _, plan in ipairs(ready) do
		if still_valid(plan) then plans[#plans + 1] = plan end
	end
	if #plans == 0 then return 0, failures end
	local lines = {}
	reaper.Undo_BeginBlock()
	reaper.PreventUIRefresh(1)
	local ok, aerr = pcall(function()
		for _, plan in ipairs(plans) do
			-- The takes playing the recording now: an earlier plan may have split their
			-- items (loop passes in files of their own share items).
			plan.group.takes = replace.groups_for_files({ plan.group.file })[1].takes
			local counts = apply_plan(plan, cfg)
			lines[#lines + 1] = summarize(plan, counts)
			if counts.failed then
				lines[#lines + 1] = string.format("%d item(s) left unchanged: %s could not be opened", counts.failed,
					basename(plan.clean_path))
			end
		end
	end)
	reaper.PreventUIRefresh(-1)
	if ok then reaper.Main_OnCommand(ACTION_BUILD_MISSING_PEAKS, 0) end -- waveforms of the clean files
	reaper.UpdateArrange()
	reaper.Undo_EndBlock(ok and (opts.undo_name or "ghostrec: replace takes with clean recordings") or
		"ghostrec: replacement failed (undo this step)", -1)
	if not ok then
		local m = "replacing failed halfway, undo the step 'ghostrec: replacement failed': " .. slice.error_text(aerr)
		slice.msg(m, opts.quiet)
		return 0, { m }
	end
	for _, l in ipairs(lines) do slice.msg(l, opts.quiet) end
	for _, plan in ipairs(plans) do
		if plan.take_id then
			memory.set_done(plan.take_id)
			memory.set_take_id(plan.group.file, plan.take_id)
			retire(cfg, names, plan.take_id)
		end
	end
	return #plans, failures
end

---------------------------------------------------------------------------------------------
-- The actions
---------------------------------------------------------------------------------------------

-- "Replace selected takes with clean recordings" (in a coroutine, see slice.start).
function replace.run_selected()
	local cfg = settings.load()
	if reaper.GetPlayState() & 4 ~= 0 then
		reaper.MB("REAPER is recording: stop first, then replace the takes.", "ghostrec", 0)
		return 0
	end
	if reaper.CountSelectedMediaItems(0) == 0 then
		reaper.MB("Select the items whose takes should be replaced with the clean recordings.", "ghostrec", 0)
		return 0
	end
	slice.acquire()
	local groups, skipped = replace.selected_groups()
	local done, failures, postponed = replace.run_groups(groups, cfg, {})
	slice.release()
	if postponed then
		reaper.MB("Recording started while the takes were being analysed: nothing was changed.", "ghostrec", 0)
		return 0
	end
	for _, s in ipairs(skipped) do failures[#failures + 1] = s end
	for _, f in ipairs(failures) do slice.msg(f) end
	if done == 0 then
		if #failures == 0 then failures[1] = "the selected items have no takes to replace" end
		reaper.MB("Nothing was replaced:\n\n" .. table.concat(failures, "\n"), "ghostrec", 0)
	end
	return done, failures
end

-- Every recording in the project whose clean take is in the inbox (or done/, or the media
-- folder), except take ids this project has had replaced once (memory.is_done: also when
-- the user undid it). No dialogs; console lines are added without opening the console.
-- opts.only: take ids to consider (the watcher's new arrivals). Returns replaced, failures,
-- postponed.
function replace.run_arrived(opts)
	opts = opts or {}
	local cfg = settings.load()
	if reaper.GetPlayState() & 4 ~= 0 then return 0, {}, "recording" end
	slice.acquire()
	local names, err = replace.list_inbox(cfg.inbox)
	if not names then
		slice.release()
		if not opts.quiet then slice.msg(err, true) end
		return 0, { err }
	end
	local idx = clean_index(cfg, names)
	local wanted = {}
	for id in pairs(idx.by_id) do
		if (not opts.only or opts.only[id]) and not memory.is_done(id) then wanted[id] = true end
	end
	local order, seen, markerless = {}, {}, {}
	local takes = all_takes()
	local by_file = {}
	for _, e in ipairs(takes) do
		by_file[e.file] = by_file[e.file] or {}
		table.insert(by_file[e.file], e)
	end
	for _, e in ipairs(takes) do
		if not paths.is_clean_file(e.file) and not seen[e.file] then
			seen[e.file] = true
			local id = replace.take_id_of(e.file)
			slice.maybe_yield()
			if id and wanted[id] then
				order[#order + 1] = e.file
			elseif id == false then
				markerless[#markerless + 1] = e.file
			end
		end
		if reaper.GetPlayState() & 4 ~= 0 then slice.release(); return 0, {}, "recording started" end
	end
	-- Marker-less recordings: compared by content once with each clean take not yet tried.
	for _, file in ipairs(markerless) do
		local g = { file = file, takes = by_file[file] }
		if #content_ids(g, cfg, idx, wanted, true, takes) > 0 then order[#order + 1] = file end
		slice.maybe_yield()
	end
	if #order == 0 then
		slice.release()
		if not opts.quiet then slice.msg("no recording in this project has its clean take in the inbox yet", true) end
		return 0, {}
	end
	local n, failures, postponed = replace.run_groups(replace.groups_for_files(order), cfg, {
		undo_name = opts.undo_name or "ghostrec: replace takes with clean recordings",
		quiet = true, auto = true, only = wanted,
	})
	slice.release()
	if not opts.quiet then
		for _, f in ipairs(failures) do slice.msg(f, true) end
	end
	return n, failures, postponed
end

return replace
