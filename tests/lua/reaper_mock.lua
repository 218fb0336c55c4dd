-- A mock of the REAPER API functions the ghostrec scripts call, written from the documented
-- semantics (REAPER API reference: GetMediaItemInfo_Value, GetMediaItemTakeInfo_Value,
-- SplitMediaItem "the original item becomes the left-hand split, the function returns the
-- right-hand split", SetMediaItemTake_Source "the old source will not be destroyed",
-- EnumerateFiles "fileindex = -1 forces re-read of the directory", GetPlayState "&1 playing,
-- &2 paused, &4 recording", I_CHANMODE "0=normal, 1=reverse stereo, 2=downmix, 3=left,
-- 4=right", 2+N = mono channel N and 66+N = stereo pair N/N+1 for multichannel sources,
-- set_action_options "flag&1: script will auto-terminate if re-launched while already
-- running, flag&2: if (flag&1) is set, script will re-launch after auto-terminating,
-- flag&4/&8: toggle state on/off", ShowConsoleMsg "prefix with !SHOW: and the text is added
-- without opening the console"), over real WAV files read with ghostrec core. Plus a
-- renderer that plays a track's timeline so tests compare audio.
--
-- Real REAPER on Windows, as modelled here (each of these once hid a defect):
--   * opts.windows = { drives = { D = "/real/dir", ["\\\\linux\\share"] = "/real/share" } }:
--     paths are Windows paths ("D:\x\y", "\\linux\share\x"); io.open of a folder fails (only
--     files open); os.rename does not replace an existing file; EnumerateFiles lists files
--     only, EnumerateSubdirectories folders only.
--   * GetTake returns nil for an empty take lane (P.add_empty_take).
--   * Reversed and section takes play a SECTION source: no file name, a parent source
--     (P.make_section).
--   * SplitMediaItem applies the user's "overlap and crossfade items when splitting"
--     preference (P.prefs.split_xfade = seconds; modelled as the right-hand item reaching
--     back over the split point by that length, with the preference's fade shape and
--     curvature on both sides).
--   * Recorded items have B_LOOPSRC on: a take reading past either end of its source wraps
--     around (the renderer plays it so).
--   * Item mix behaviour (P.itemmix project default, an item's MIXFLAG in its state chunk):
--     0 enclosed items replace enclosing items, 1 items always mix, 2 items always replace
--     earlier items.
--   * Script instances (P.launch): re-launching a script that still runs opens REAPER's
--     modal "already running" dialog (recorded in P.dialogs, answered "new instance" unless
--     P.relaunch_answer says otherwise) unless the script set set_action_options; atexit
--     runs when an instance ends; a script run that neither deferred nor made an undo point
--     gets REAPER's automatic undo point.
--   * Undo blocks and PreventUIRefresh must be balanced at the end of every UI slice
--     (P.violations; M.check_all fails the test).
--   * Slice meter: every launch and deferred call is one UI slice; its cost comes from a
--     deterministic model (Lua VM instructions counted by a hook, bytes read and written,
--     values decoded by string.unpack, a fixed cost per REAPER API call), so
--     P.max_slice_ms is repeatable. time_precise() advances with it inside a slice.
local core = require("ghostrec.core")

local M = {}
-- Modules without REAPER state: shared by every script instance (tests may patch them).
M.PURE_MODULES = { ["ghostrec.core"] = true, ["ghostrec.audiofile"] = true, ["ghostrec.takemeta"] = true,
	["ghostrec.marker"] = true, ["ghostrec.conform"] = true }
-- Cost model (see tests/bench): Lua VM instructions, bytes read and written, and values
-- decoded by string.unpack (C work: on lua5.4 a value costs about as much as 4 instructions).
-- A REAPER API call costs api_call_instr instructions (the mock's own work is not counted).
M.COST = { instr_per_ms = 150000, bytes_per_ms = 600000, instr_per_unpacked = 4, api_call_instr = 150 }

local function round(x) return math.floor(x + 0.5) end

---------------------------------------------------------------------------------------------
-- Global hooks: installed once, dispatch to the mock in use (M.active).
---------------------------------------------------------------------------------------------
local real = { open = io.open, rename = os.rename, remove = os.remove, create = coroutine.create,
	wrap = coroutine.wrap, popen = io.popen }
local HOOK_EVERY = 1000
local function count_hook()
	local P = M.active
	if P and P.metering and not P.in_api then
		P.slice_instr = P.slice_instr + HOOK_EVERY
		-- Profiling long slices (benchmarks): where a slice over P.trace_over_ms spends it.
		if (P.trace_over_ms and P.cost_ms() > P.trace_over_ms) or
			(P.trace_over_real_ms and (os.clock() - P.slice_t0) * 1000 > P.trace_over_real_ms) then
			P.trace_n = (P.trace_n or 0) + 1
			if P.trace_n % 10 == 0 then
				local tb = debug.traceback("", 2):gsub("^\nstack traceback:\n", "")
				P.traces[tb] = (P.traces[tb] or 0) + 1
			end
		end
	end
end
local function count_bytes(n)
	local P = M.active
	if P and P.metering then P.slice_bytes = P.slice_bytes + n end
end

local installed = false
local function install()
	if installed then return end
	installed = true
	local methods = getmetatable(io.stdout).__index
	local orig_read, orig_write = methods.read, methods.write
	methods.read = function(f, a, ...)
		if select("#", ...) == 0 then
			local s = orig_read(f, a)
			if type(s) == "string" then count_bytes(#s) end
			return s
		end
		return orig_read(f, a, ...)
	end
	methods.write = function(f, ...)
		for i = 1, select("#", ...) do
			local v = select(i, ...)
			if type(v) == "string" then count_bytes(#v) end
		end
		return orig_write(f, ...)
	end
	-- string.unpack: its values are counted (the scripts decode audio blocks with it; code
	-- that keeps a local copy from before the mock was loaded is counted by its instructions).
	local orig_unpack, letters = string.unpack, {}
	string.unpack = function(fmt, s, pos)
		local P = M.active
		if P and P.metering and not P.in_api then
			local n = letters[fmt]
			if not n then
				n = select(2, fmt:gsub("%a", ""))
				letters[fmt] = n
			end
			P.slice_instr = P.slice_instr + n * M.COST.instr_per_unpacked
		end
		return orig_unpack(fmt, s, pos)
	end
	coroutine.create = function(fn)
		local co = real.create(fn)
		debug.sethook(co, count_hook, "", HOOK_EVERY)
		return co
	end
	coroutine.wrap = function(fn)
		local co = coroutine.create(fn)
		return function(...)
			local r = table.pack(coroutine.resume(co, ...))
			if not r[1] then error(r[2], 2) end
			return table.unpack(r, 2, r.n)
		end
	end
	io.open = function(path, mode)
		local P = M.active
		if P and P.real_path then
			local rp = P.real_path(path)
			local f, err, code = real.open(rp, mode)
			if f and P.windows and (mode or "r"):find("r") then
				-- Windows: only files open; a folder does not.
				local ok = f:read(0)
				if ok == nil then f:close(); return nil, path .. ": Permission denied", 13 end
				f:seek("set", 0)
			end
			if P.opens then P.opens[path] = (P.opens[path] or 0) + 1 end
			if not f then return nil, (err or ""):gsub("^[^:]*:", path .. ":"), code end
			return f
		end
		return real.open(path, mode)
	end
	os.rename = function(a, b)
		local P = M.active
		if P and P.windows then
			local ra, rb = P.real_path(a), P.real_path(b)
			if P.is_dir(ra) and ra == rb then return nil, a .. ": Permission denied", 13 end
			local f = real.open(rb, "rb")
			if f then f:close(); return nil, b .. ": File exists", 17 end
			return real.rename(ra, rb)
		elseif P and P.real_path then
			return real.rename(P.real_path(a), P.real_path(b))
		end
		return real.rename(a, b)
	end
	os.remove = function(path)
		local P = M.active
		if P and P.real_path then
			local rp = P.real_path(path)
			if P.windows and P.is_dir(rp) then return nil, path .. ": Permission denied", 13 end
			return real.remove(rp)
		end
		return real.remove(path)
	end
end

function M.new(opts)
	opts = opts or {}
	install()
	local P = {
		tracks = {}, markers = {}, undo_points = {}, undo_depth = 0, undo_begin_calls = 0,
		extstate = {}, persisted = {}, projext = {}, toggles = {}, refreshed = {}, deferred = {},
		console = {}, console_popups = 0, mb = {}, play_state = 0, dir_cache = {}, sources_alive = {},
		user_inputs = {}, calls = {}, next_id = 1, script_path = opts.script_path or "/mock/script.lua",
		section_id = 0, command_id = opts.command_id or 55001, clock = 0, dialogs = {}, violations = {},
		prefs = {}, itemmix = 0, slices = {}, max_slice_ms = 0, traces = {}, slice_instr = 0, slice_bytes = 0,
		instances = {}, ui_refresh = 0, opens = {}, windows = opts.windows ~= nil,
		project_path = opts.project_path,
	}
	local R = {}
	M.last = P
	M.active = P
	M.all = M.all or {}
	M.all[#M.all + 1] = P

	local function track_call(name) P.calls[name] = (P.calls[name] or 0) + 1 end
	local function new_id() P.next_id = P.next_id + 1; return P.next_id end

	-- Paths ---------------------------------------------------------------------------------
	-- Windows path -> the real (Linux) path; Linux paths pass through (the tests' own files).
	function P.real_path(path)
		assert(type(path) == "string", "path must be a string")
		if not P.windows then return path end
		local drives = opts.windows.drives
		local letter, rest = path:match("^(%a):[\\/](.*)$")
		if letter then
			local root = assert(drives[letter:upper()], "mock(Windows): no drive " .. letter .. ":")
			return root .. "/" .. rest:gsub("\\", "/")
		end
		for prefix, root in pairs(drives) do
			if #prefix > 1 and path:sub(1, #prefix + 1) == prefix .. "\\" then
				return root .. "/" .. path:sub(#prefix + 2):gsub("\\", "/")
			end
		end
		return path
	end
	function P.is_dir(rp)
		local f = real.open(rp, "rb")
		if not f then return false end
		local ok = f:read(0)
		f:close()
		return ok == nil
	end
	-- A Windows path for a real path under one of the drives (test helper).
	function P.win_path(rp)
		if not P.windows then return rp end
		for prefix, root in pairs(opts.windows.drives) do
			if rp:sub(1, #root) == root then
				local rest = rp:sub(#root + 2):gsub("/", "\\")
				if #prefix == 1 then return prefix .. ":\\" .. rest end
				return prefix .. "\\" .. rest
			end
		end
		error("mock(Windows): " .. rp .. " is on no drive")
	end

	-- Slices, instances, UI -----------------------------------------------------------------
	local function cost_ms()
		return P.slice_instr / M.COST.instr_per_ms + P.slice_bytes / M.COST.bytes_per_ms
	end
	P.cost_ms = cost_ms

	-- Runs fn as one UI slice of `inst`: metered, then checked for balance.
	local function slice(inst, fn, ...)
		local prev = P.current
		P.current = inst
		P.metering, P.slice_instr, P.slice_bytes, P.in_api = true, 0, 0, false
		local t0 = os.clock()
		P.slice_t0 = t0
		debug.sethook(count_hook, "", HOOK_EVERY)
		local ok, err = xpcall(fn, debug.traceback, ...)
		debug.sethook()
		P.metering = false
		local ms = cost_ms()
		P.clock = P.clock + ms / 1000
		P.slices[#P.slices + 1] = ms
		if ms > P.max_slice_ms then P.max_slice_ms = ms; P.max_slice_what = inst.name end
		local real_ms = (os.clock() - t0) * 1000
		if real_ms > (P.max_slice_real_ms or 0) then P.max_slice_real_ms = real_ms end
		P.current = prev
		if P.undo_depth ~= 0 then
			P.violations[#P.violations + 1] = "undo block left open after a UI slice of " .. inst.name
			P.undo_depth = 0
		end
		if P.ui_refresh ~= 0 then
			P.violations[#P.violations + 1] = "PreventUIRefresh left at " .. P.ui_refresh .. " after a UI slice of " .. inst.name
			P.ui_refresh = 0
		end
		if not ok then
			-- REAPER shows a script error and ends the instance.
			P.script_errors = P.script_errors or {}
			P.script_errors[#P.script_errors + 1] = err
			inst.dead = true
		end
		return ok, err
	end
	P.slice = slice

	local function instance_pending(inst)
		for _, d in ipairs(P.deferred) do if d.inst == inst then return true end end
		return false
	end
	local function end_instance(inst)
		if inst.ended then return end
		inst.ended = true
		local keep = {}
		for _, d in ipairs(P.deferred) do if d.inst ~= inst then keep[#keep + 1] = d end end
		P.deferred = keep
		local list = inst.atexit
		inst.atexit = {}
		for _, fn in ipairs(list) do slice(inst, fn) end
		if inst.options & 4 ~= 0 or inst.toggle_set then
			-- REAPER clears a script's toggle state when it ends
			P.toggles[P.section_id .. ":" .. inst.command_id] = 0
		end
	end

	local function new_instance(name, command_id)
		local inst = { name = name, atexit = {}, options = 0, command_id = command_id or P.command_id }
		P.instances[#P.instances + 1] = inst
		return inst
	end
	P.default_instance = new_instance("test", P.command_id)

	-- Runs a script file as REAPER does when its action is triggered (menu, toolbar, OSC).
	-- Module caches are dropped first: every instance runs in a fresh Lua state.
	function P.launch(path, command_id)
		command_id = command_id or P.command_ids and P.command_ids[path] or P.command_id
		for _, inst in ipairs(P.instances) do
			if inst.path == path and not inst.ended and instance_pending(inst) then
				if inst.options & 1 ~= 0 then
					end_instance(inst)
					if inst.options & 2 == 0 then return nil end
				else
					P.dialogs[#P.dialogs + 1] = "already running: " .. path
					local answer = P.relaunch_answer or "new"
					if answer == "terminate" then end_instance(inst); return nil end
					if answer == "abort" then return nil end
				end
			end
		end
		local inst = new_instance(path:match("[^/\\]*$"), command_id)
		inst.path = path
		for k in pairs(package.loaded) do
			if k:match("^ghostrec%.") and not M.PURE_MODULES[k] then package.loaded[k] = nil end
		end
		P.script_path = path
		local undo_before = #P.undo_points
		slice(inst, dofile, path)
		if not instance_pending(inst) then
			if #P.undo_points == undo_before and not inst.deferred_once then
				P.undo_points[#P.undo_points + 1] = { desc = "ReaScript: Run", flags = -1, auto = true }
			end
			end_instance(inst)
		end
		return inst
	end

	-- Runs one UI timer tick: every function deferred before the tick runs once, each a
	-- slice of its instance. Instances with nothing deferred any more end (atexit).
	function P.tick(seconds)
		P.clock = P.clock + (seconds or 0.1)
		local list = P.deferred
		P.deferred = {}
		for _, d in ipairs(list) do
			if not d.inst.ended then slice(d.inst, d.fn) end
		end
		for _, d in ipairs(list) do
			if not d.inst.ended and not instance_pending(d.inst) and d.inst ~= P.default_instance then end_instance(d.inst) end
		end
		return #P.deferred > 0
	end
	-- Every script instance ends (toggled off or REAPER quits): atexit handlers run.
	function P.terminate()
		for _, inst in ipairs(P.instances) do end_instance(inst) end
		P.deferred = {}
	end
	-- Fails (error) when a slice left an undo block or PreventUIRefresh open.
	function P.check()
		if P.undo_depth ~= 0 then P.violations[#P.violations + 1] = "undo block open at the end of the test" end
		if P.ui_refresh ~= 0 then P.violations[#P.violations + 1] = "PreventUIRefresh open at the end of the test" end
		if #P.violations > 0 then error("REAPER state: " .. table.concat(P.violations, "; "), 0) end
	end

	-- Sources -------------------------------------------------------------------------------
	local function make_source(path)
		local info = core.open_audio(path)
		if not info then return nil end
		local src = { kind = "PCM_source", type = "WAVE", id = new_id(), filename = path, info = info, destroyed = false }
		P.sources_alive[src] = true
		return src
	end
	P.make_source = make_source

	-- A SECTION source (Item properties: section, or reversed) over `parent`.
	function P.make_section(parent, offs, len, rev)
		local src = { kind = "PCM_source", type = "SECTION", id = new_id(), parent = parent, offs = offs, len = len,
			rev = rev and true or false, destroyed = false, info = parent.info }
		P.sources_alive[src] = true
		return src
	end

	local function dup_source(src)
		if src.type == "SECTION" then return P.make_section(dup_source(src.parent), src.offs, src.len, src.rev) end
		return make_source(src.filename)
	end

	function R.PCM_Source_CreateFromFile(path)
		track_call("PCM_Source_CreateFromFile")
		P.sources_created = (P.sources_created or 0) + 1
		return make_source(path)
	end
	R.PCM_Source_CreateFromFileEx = function(path) return R.PCM_Source_CreateFromFile(path) end

	local function each_take(fn)
		for _, tr in ipairs(P.tracks) do
			for _, it in ipairs(tr.items) do
				for _, tk in ipairs(it.takes) do if tk then fn(tk, it) end end
			end
		end
	end

	function R.PCM_Source_Destroy(src)
		track_call("PCM_Source_Destroy")
		assert(src and src.kind == "PCM_source", "PCM_Source_Destroy: not a source")
		assert(not src.destroyed, "PCM_Source_Destroy: source destroyed twice")
		each_take(function(tk) assert(tk.source ~= src, "PCM_Source_Destroy: source still used by a take") end)
		src.destroyed = true
		P.sources_alive[src] = nil
	end

	function R.GetMediaSourceFileName(src)
		assert(src and not src.destroyed, "GetMediaSourceFileName on a destroyed source")
		if src.type == "SECTION" then return "" end
		return src.filename
	end
	function R.GetMediaSourceParent(src)
		assert(src and not src.destroyed, "GetMediaSourceParent on a destroyed source")
		return src.parent
	end
	function R.PCM_Source_GetSectionInfo(src)
		if src.type ~= "SECTION" then return false, 0, 0, false end
		return true, src.offs, src.len, src.rev
	end
	function R.GetMediaSourceSampleRate(src) return src.info.rate end
	function R.GetMediaSourceNumChannels(src) return src.info.channels end
	function R.GetMediaSourceLength(src)
		if src.type == "SECTION" then return src.len, false end
		return src.info.frames / src.info.rate, false
	end
	function R.GetMediaSourceType(src) return src.type end

	-- Tracks, items, takes ------------------------------------------------------------------
	function P.add_track(name)
		local tr = { kind = "MediaTrack", name = name or ("Track " .. (#P.tracks + 1)), items = {} }
		P.tracks[#P.tracks + 1] = tr
		return tr
	end

	local function new_item(tr, fields)
		local it = { kind = "MediaItem", id = new_id(), track = tr, takes = {}, cur = 1,
			D_POSITION = 0, D_LENGTH = 0, D_FADEINLEN = 0, D_FADEOUTLEN = 0,
			D_FADEINLEN_AUTO = -1, D_FADEOUTLEN_AUTO = -1, C_FADEINSHAPE = 0, C_FADEOUTSHAPE = 0,
			D_FADEINDIR = 0, D_FADEOUTDIR = 0, D_VOL = 1, B_MUTE = 0, B_LOOPSRC = 1, B_UISEL = 0, mixflag = -1 }
		for k, v in pairs(fields or {}) do it[k] = v end
		tr.items[#tr.items + 1] = it
		return it
	end

	-- Test helper: an item on `tr` playing `path` from `startoffs` seconds, at `pos` for `len`
	-- (as REAPER records it: loop source on).
	function P.add_item(tr, path, pos, len, startoffs, fields)
		local it = new_item(tr, { D_POSITION = pos, D_LENGTH = len })
		for k, v in pairs(fields or {}) do it[k] = v end
		P.add_take(it, path, startoffs)
		return it
	end

	-- Every file a test put into the project: the recordings the scripts must never modify.
	P.recorded_files = {}
	function P.add_take(it, path, startoffs, fields)
		local src = assert(make_source(path), "mock: cannot open " .. path)
		P.recorded_files[path] = true
		local tk = { kind = "MediaItem_Take", id = new_id(), item = it, source = src,
			D_STARTOFFS = startoffs or 0, D_PLAYRATE = 1, D_VOL = 1, I_CHANMODE = 0, I_RECPASSID = 0,
			name = path:match("[^/\\]*$") }
		for k, v in pairs(fields or {}) do tk[k] = v end
		it.takes[#it.takes + 1] = tk
		it.cur = #it.takes
		return tk
	end
	-- An empty take lane (what deleting a take's media leaves): GetTake returns nil for it.
	function P.add_empty_take(it)
		it.takes[#it.takes + 1] = false
		return #it.takes - 1
	end

	-- The project's items in REAPER's order (by track, then position). Kept while no item was
	-- added, removed or moved (checked in one pass: the mock's lookups are not quadratic).
	local cached_items, seen_items, seen_pos = nil, nil, nil
	local function items_unchanged()
		if not cached_items then return false end
		local k = 0
		for _, tr in ipairs(P.tracks) do
			for _, it in ipairs(tr.items) do
				k = k + 1
				if seen_items[k] ~= it or seen_pos[k] ~= it.D_POSITION then return false end
			end
		end
		return k == #seen_items
	end
	local sort_items
	local function all_items()
		if items_unchanged() then return cached_items end
		seen_items, seen_pos = {}, {}
		for _, tr in ipairs(P.tracks) do
			for _, it in ipairs(tr.items) do
				seen_items[#seen_items + 1] = it
				seen_pos[#seen_pos + 1] = it.D_POSITION
			end
		end
		cached_items = sort_items()
		return cached_items
	end
	function sort_items()
		local list = {}
		for _, tr in ipairs(P.tracks) do
			local sorted = {}
			for _, it in ipairs(tr.items) do sorted[#sorted + 1] = it end
			table.sort(sorted, function(a, b)
				if a.D_POSITION ~= b.D_POSITION then return a.D_POSITION < b.D_POSITION end
				return a.id < b.id
			end)
			for _, it in ipairs(sorted) do list[#list + 1] = it end
		end
		return list
	end
	P.all_items = all_items

	function R.CountTracks(proj) return #P.tracks end
	function R.GetTrack(proj, idx) return P.tracks[idx + 1] end
	function R.CountMediaItems(proj) return #all_items() end
	function R.GetMediaItem(proj, idx) return all_items()[idx + 1] end
	function R.CountSelectedMediaItems(proj)
		local n = 0
		for _, it in ipairs(all_items()) do if it.B_UISEL ~= 0 then n = n + 1 end end
		return n
	end
	function R.GetSelectedMediaItem(proj, idx)
		local n = 0
		for _, it in ipairs(all_items()) do
			if it.B_UISEL ~= 0 then
				if n == idx then return it end
				n = n + 1
			end
		end
		return nil
	end
	function R.GetMediaItem_Track(it) return it.track end
	function R.GetMediaItemTrack(it) return it.track end
	function R.CountTakes(it) return #it.takes end
	R.GetMediaItemNumTakes = R.CountTakes
	function R.GetTake(it, idx) return it.takes[idx + 1] or nil end
	R.GetMediaItemTake = R.GetTake
	function R.GetActiveTake(it) return it.takes[it.cur] or nil end
	function R.GetMediaItemTake_Item(tk) return tk.item end
	function R.GetMediaItemTake_Source(tk) return tk.source end
	function R.GetMediaItemTake_Track(tk) return tk.item.track end

	local ITEM_KEYS = { D_POSITION = true, D_LENGTH = true, D_FADEINLEN = true, D_FADEOUTLEN = true,
		D_FADEINLEN_AUTO = true, D_FADEOUTLEN_AUTO = true, C_FADEINSHAPE = true, C_FADEOUTSHAPE = true,
		D_VOL = true, B_MUTE = true, B_LOOPSRC = true, B_UISEL = true, D_FADEINDIR = true, D_FADEOUTDIR = true }
	local TAKE_KEYS = { D_STARTOFFS = true, D_PLAYRATE = true, D_VOL = true, I_CHANMODE = true, I_RECPASSID = true }

	function R.GetMediaItemInfo_Value(it, key)
		if key == "I_CURTAKE" then return it.cur - 1 end
		assert(ITEM_KEYS[key], "mock: item key not modelled: " .. key)
		return it[key] or 0
	end
	function R.SetMediaItemInfo_Value(it, key, v)
		track_call("SetMediaItemInfo_Value")
		if key == "I_CURTAKE" then it.cur = v + 1; return true end
		assert(ITEM_KEYS[key], "mock: item key not modelled: " .. key)
		assert(type(v) == "number", "SetMediaItemInfo_Value: value must be a number")
		if key == "D_LENGTH" or key == "D_FADEINLEN" or key == "D_FADEOUTLEN" then
			if v < 0 then v = 0 end
		end
		it[key] = v
		return true
	end
	function R.GetMediaItemTakeInfo_Value(tk, key)
		assert(tk, "GetMediaItemTakeInfo_Value: take is nil")
		if key == "IP_TAKENUMBER" then
			for i, t in ipairs(tk.item.takes) do if t == tk then return i - 1 end end
		end
		assert(TAKE_KEYS[key], "mock: take key not modelled: " .. key)
		return tk[key]
	end
	function R.SetMediaItemTakeInfo_Value(tk, key, v)
		track_call("SetMediaItemTakeInfo_Value")
		assert(tk, "SetMediaItemTakeInfo_Value: take is nil")
		assert(TAKE_KEYS[key], "mock: take key not modelled: " .. key)
		assert(type(v) == "number", "SetMediaItemTakeInfo_Value: value must be a number")
		if key == "I_CHANMODE" then v = math.floor(v) end
		tk[key] = v
		return true
	end
	function R.GetSetMediaItemTakeInfo_String(tk, key, value, set)
		assert(tk, "GetSetMediaItemTakeInfo_String: take is nil")
		if key ~= "P_NAME" then return false, "" end
		if set then tk.name = value end
		return true, tk.name
	end

	-- Item state chunks: only what the scripts touch (MIXFLAG, the item's mix behaviour) is
	-- modelled; the rest of a chunk must come back unchanged.
	function R.GetItemStateChunk(it, str, isundo)
		local lines = { "<ITEM", string.format("POSITION %.14f", it.D_POSITION), string.format("LENGTH %.14f", it.D_LENGTH),
			"LOOP " .. math.floor(it.B_LOOPSRC) }
		if it.mixflag ~= -1 then lines[#lines + 1] = "MIXFLAG " .. it.mixflag end
		lines[#lines + 1] = string.format("IGUID {mock-%d}", it.id)
		lines[#lines + 1] = ">"
		return true, table.concat(lines, "\n") .. "\n"
	end
	function R.SetItemStateChunk(it, chunk, isundo)
		track_call("SetItemStateChunk")
		local _, mine = R.GetItemStateChunk(it)
		local function strip(s) return (s:gsub("\nMIXFLAG %-?%d+", "")) end
		assert(strip(chunk) == strip(mine), "mock: SetItemStateChunk changes more than MIXFLAG:\n" .. chunk)
		local m = chunk:match("\nMIXFLAG (%-?%d+)")
		it.mixflag = m and tonumber(m) or -1
		return true
	end

	-- "Set media source of media item take. The old source will not be destroyed, it is the
	-- caller's responsibility to retrieve it and destroy it after. If source already exists in
	-- any project, it will be duplicated before being set."
	function R.SetMediaItemTake_Source(tk, src)
		track_call("SetMediaItemTake_Source")
		assert(tk, "SetMediaItemTake_Source: take is nil")
		assert(src and src.kind == "PCM_source" and not src.destroyed, "SetMediaItemTake_Source: bad source")
		local in_use = false
		each_take(function(t) if t.source == src then in_use = true end end)
		if in_use then src = dup_source(src) end
		tk.source = src
		return true
	end

	-- "the original item becomes the left-hand split, the function returns the right-hand
	-- split (or NULL if the split failed)". Every take of the right-hand split plays on from
	-- where the left one stopped: its start offset grows by the split offset times the rate.
	-- With the overlap-on-split preference the right-hand split reaches back over the split
	-- point, with crossfades of the preference's shape.
	function R.SplitMediaItem(it, pos)
		track_call("SplitMediaItem")
		local s, e = it.D_POSITION, it.D_POSITION + it.D_LENGTH
		if not (pos > s and pos < e) then return nil end
		local right = new_item(it.track, {})
		for k in pairs(ITEM_KEYS) do right[k] = it[k] end
		right.mixflag = it.mixflag
		right.D_POSITION = pos
		right.D_LENGTH = e - pos
		right.D_FADEINLEN = 0
		right.D_FADEOUTLEN = it.D_FADEOUTLEN
		right.B_UISEL = it.B_UISEL
		it.D_LENGTH = pos - s
		it.D_FADEOUTLEN = 0
		local x = P.prefs.split_xfade or 0
		if x > pos - s then x = pos - s end
		for i, tk in ipairs(it.takes) do
			if tk then
				local copy = { kind = "MediaItem_Take", id = new_id(), item = right }
				for k, v in pairs(tk) do if TAKE_KEYS[k] or k == "name" then copy[k] = v end end
				copy.D_STARTOFFS = tk.D_STARTOFFS + (pos - s - x) * tk.D_PLAYRATE
				copy.source = dup_source(tk.source)
				right.takes[i] = copy
			else
				right.takes[i] = false
			end
		end
		if x > 0 then
			right.D_POSITION = pos - x
			right.D_LENGTH = e - pos + x
			right.D_FADEINLEN, it.D_FADEOUTLEN = x, x
			right.C_FADEINSHAPE, it.C_FADEOUTSHAPE = P.prefs.split_shape or 1, P.prefs.split_shape or 1
			right.D_FADEINDIR, it.D_FADEOUTDIR = P.prefs.split_dir or 0.5, P.prefs.split_dir or 0.5
		end
		right.cur = it.cur
		return right
	end

	-- "Return true if the pointer is a valid object of the right type in proj".
	function R.ValidatePtr2(proj, ptr, typename)
		for _, tr in ipairs(P.tracks) do
			if typename == "MediaTrack*" and ptr == tr then return true end
			for _, it in ipairs(tr.items) do
				if typename == "MediaItem*" and ptr == it then return true end
				for _, tk in ipairs(it.takes) do
					if tk and typename == "MediaItem_Take*" and ptr == tk then return true end
				end
			end
		end
		return false
	end
	function R.ValidatePtr(ptr, typename) return R.ValidatePtr2(0, ptr, typename) end

	function R.DeleteTrackMediaItem(tr, it)
		for i, x in ipairs(tr.items) do
			if x == it then table.remove(tr.items, i); return true end
		end
		return false
	end

	-- Markers ---------------------------------------------------------------------------------
	function R.AddProjectMarker2(proj, isrgn, pos, rgnend, name, wantidx, color)
		track_call("AddProjectMarker2")
		local idx = (wantidx and wantidx >= 0) and wantidx or (#P.markers + 1)
		P.markers[#P.markers + 1] = { isrgn = isrgn, pos = pos, rgnend = rgnend, name = name, idx = idx, color = color }
		return idx
	end
	function R.AddProjectMarker(proj, isrgn, pos, rgnend, name, wantidx)
		return R.AddProjectMarker2(proj, isrgn, pos, rgnend, name, wantidx, 0)
	end
	function R.CountProjectMarkers(proj)
		local m, r = 0, 0
		for _, x in ipairs(P.markers) do if x.isrgn then r = r + 1 else m = m + 1 end end
		return m + r, m, r
	end
	function R.EnumProjectMarkers(idx)
		local x = P.markers[idx + 1]
		if not x then return 0, false, 0, 0, "", 0 end
		return idx + 1, x.isrgn, x.pos, x.rgnend, x.name, x.idx
	end

	-- Undo, UI --------------------------------------------------------------------------------
	function R.Undo_BeginBlock()
		P.undo_depth = P.undo_depth + 1
		P.undo_begin_calls = P.undo_begin_calls + 1
	end
	function R.Undo_BeginBlock2(proj) R.Undo_BeginBlock() end
	function R.Undo_EndBlock(desc, flags)
		assert(P.undo_depth > 0, "Undo_EndBlock without Undo_BeginBlock")
		P.undo_depth = P.undo_depth - 1
		if P.undo_depth == 0 then P.undo_points[#P.undo_points + 1] = { desc = desc, flags = flags } end
	end
	function R.Undo_EndBlock2(proj, desc, flags) R.Undo_EndBlock(desc, flags) end
	function R.UpdateArrange() track_call("UpdateArrange") end
	-- Actions by command ID; only the ones the scripts use are modelled. Building peaks
	-- writes <media file>.reapeaks next to every source in use (REAPER's default peak
	-- location is beside the media).
	local ACTIONS = { [40047] = "Peaks: Build any missing peaks" }
	P.actions_run = {}
	function R.Main_OnCommand(cmd, flag)
		assert(ACTIONS[cmd], "mock: action not modelled: " .. tostring(cmd))
		P.actions_run[#P.actions_run + 1] = cmd
		if cmd == 40047 then
			each_take(function(tk)
				local s = tk.source
				while s.type == "SECTION" do s = s.parent end
				local rp = P.real_path(s.filename .. ".reapeaks")
				local f = real.open(rp, "rb")
				if f then f:close() else
					f = real.open(rp, "wb")
					if f then f:write("RPKM"); f:close() end
				end
			end)
		end
	end
	function R.UpdateTimeline() track_call("UpdateTimeline") end
	function R.PreventUIRefresh(n) P.ui_refresh = (P.ui_refresh or 0) + n end
	function R.ShowConsoleMsg(msg)
		if msg:sub(1, 6) == "!SHOW:" then
			msg = msg:sub(7)
		elseif msg ~= "" then
			P.console_popups = P.console_popups + 1
		end
		P.console[#P.console + 1] = msg
	end
	function R.ClearConsole() end
	function R.MB(msg, title, typ) P.mb[#P.mb + 1] = { msg = msg, title = title, type = typ }; return 1 end
	function R.ShowMessageBox(msg, title, typ) return R.MB(msg, title, typ) end
	function R.GetUserInputs(title, n, captions, defaults)
		local resp = table.remove(P.user_inputs, 1)
		P.last_user_inputs = { title = title, n = n, captions = captions, defaults = defaults }
		if resp == nil then return false, defaults end
		return true, resp
	end

	-- ExtState --------------------------------------------------------------------------------
	function R.GetExtState(section, key)
		local s = P.extstate[section]
		return (s and s[key]) or ""
	end
	function R.SetExtState(section, key, value, persist)
		P.extstate[section] = P.extstate[section] or {}
		P.extstate[section][key] = tostring(value)
		if persist then P.persisted[section .. "/" .. key] = tostring(value) end
	end
	function R.HasExtState(section, key)
		local s = P.extstate[section]
		return s ~= nil and s[key] ~= nil
	end
	function R.DeleteExtState(section, key, persist)
		if P.extstate[section] then P.extstate[section][key] = nil end
		if persist then P.persisted[section .. "/" .. key] = nil end
	end
	-- Project ExtState: saved with the project ("SetProjExtState ... empty value deletes").
	function R.SetProjExtState(proj, section, key, value)
		P.projext[section] = P.projext[section] or {}
		if value == nil or value == "" then P.projext[section][key] = nil else P.projext[section][key] = tostring(value) end
		return 1
	end
	function R.GetProjExtState(proj, section, key)
		local v = P.projext[section] and P.projext[section][key]
		if v == nil then return 0, "" end
		return #v, v
	end

	-- Actions, transport, defer ---------------------------------------------------------------
	function R.get_action_context()
		local inst = P.current or P.default_instance
		return false, P.script_path, P.section_id, inst.command_id, -1, -1, -1, ""
	end
	function R.set_action_options(flag)
		local inst = P.current or P.default_instance
		inst.options = flag
		if flag & 4 ~= 0 then P.toggles[P.section_id .. ":" .. inst.command_id] = 1; inst.toggle_set = true end
		if flag & 8 ~= 0 then P.toggles[P.section_id .. ":" .. inst.command_id] = 0 end
	end
	function R.SetToggleCommandState(section, cmd, state)
		P.toggles[section .. ":" .. cmd] = state
		return true
	end
	function R.GetToggleCommandStateEx(section, cmd)
		local v = P.toggles[section .. ":" .. cmd]
		return v == nil and -1 or v
	end
	function R.RefreshToolbar2(section, cmd) P.refreshed[#P.refreshed + 1] = section .. ":" .. cmd end
	function R.RefreshToolbar(cmd) P.refreshed[#P.refreshed + 1] = "0:" .. cmd end
	function R.GetPlayState() return P.play_state end
	-- Seconds; inside a slice the clock runs on with the slice's modelled cost.
	function R.time_precise()
		if P.metering then return P.clock + cost_ms() / 1000 end
		return P.clock
	end
	function R.defer(fn)
		assert(type(fn) == "function", "defer needs a function")
		local inst = P.current or P.default_instance
		inst.deferred_once = true
		P.deferred[#P.deferred + 1] = { fn = fn, inst = inst }
		return true
	end
	function R.runloop(fn) return R.defer(fn) end
	function R.atexit(fn)
		local inst = P.current or P.default_instance
		inst.atexit[#inst.atexit + 1] = fn
	end

	-- Files -------------------------------------------------------------------------------------
	local function list_dir(rp, want_dirs)
		local p = real.popen('ls -1Ap "' .. rp:gsub('"', '\\"') .. '" 2>/dev/null')
		local files = {}
		if p then
			for name in p:lines() do
				local is_dir = name:sub(-1) == "/"
				if is_dir == (want_dirs and true or false) then
					files[#files + 1] = is_dir and name:sub(1, -2) or name
				end
			end
			p:close()
		end
		table.sort(files)
		return files
	end
	local function enumerate(path, idx, dirs)
		local rp = P.real_path(path):gsub("[/\\]+$", "")
		local key = (dirs and "d:" or "f:") .. rp
		if idx < 0 then
			P.dir_cache[key] = nil
			return nil
		end
		-- REAPER caches directory listings: a script sees new files only after asking for a
		-- re-read with fileindex -1.
		if not P.dir_cache[key] then P.dir_cache[key] = list_dir(rp, dirs) end
		return P.dir_cache[key][idx + 1]
	end
	function R.EnumerateFiles(path, idx)
		track_call("EnumerateFiles")
		return enumerate(path, idx, false)
	end
	function R.EnumerateSubdirectories(path, idx)
		track_call("EnumerateSubdirectories")
		return enumerate(path, idx, true)
	end
	function R.file_exists(path)
		local rp = P.real_path(path)
		local f = real.open(rp, "rb")
		if not f then return false end
		local ok = f:read(0)
		f:close()
		return ok ~= nil
	end
	function R.RecursiveCreateDirectory(path, ignored)
		local rp = P.real_path(path)
		local existed = P.is_dir(rp)
		os.execute('mkdir -p "' .. rp:gsub('"', '\\"') .. '"')
		if existed then return 0 end
		return P.is_dir(rp) and 1 or 0
	end
	local function project_path()
		if not P.project_path then
			assert(not P.windows, "mock(Windows): give opts.project_path")
			local p = assert(real.popen("mktemp -d 2>/dev/null"))
			P.project_path = p:read("l")
			p:close()
		end
		return P.project_path
	end
	function R.GetProjectPath() return project_path() end
	function R.GetProjectPathEx(proj) return project_path() end
	function R.GetResourcePath() return opts.resource_path or "/tmp" end
	function R.GetOS() return P.windows and "Win64" or "Other" end
	function R.GetAppVersion() return P.windows and "7.38/x64" or "7.38/linux-x86_64" end

	-- Renderer ------------------------------------------------------------------------------------
	-- Positions and lengths are seconds (doubles); the renderer works in frames, snapping
	-- values that are a whole number of frames up to float noise onto that number.
	local function frames_of(seconds, rate)
		local x = seconds * rate
		local r = round(x)
		if math.abs(x - r) < 1e-6 then return r end
		return x
	end

	-- Fade gain `t` frames into an item (linear shapes, C_FADE*SHAPE = 0, curvature 0). Auto
	-- fades (the _AUTO values, when >= 0) take precedence over manual ones, as in REAPER.
	local function fade_gain(it, t, rate)
		local g = 1
		local fi = (it.D_FADEINLEN_AUTO and it.D_FADEINLEN_AUTO > 0) and it.D_FADEINLEN_AUTO or it.D_FADEINLEN
		local fo = (it.D_FADEOUTLEN_AUTO and it.D_FADEOUTLEN_AUTO > 0) and it.D_FADEOUTLEN_AUTO or it.D_FADEOUTLEN
		fi, fo = frames_of(fi, rate), frames_of(fo, rate)
		-- REAPER documents only shape 0 (linear): a script leaving another shape or a
		-- curvature would be rendered here with a curve nobody can check.
		if fi > 0 then
			assert(it.C_FADEINSHAPE == 0 and it.D_FADEINDIR == 0, "mock renders linear fades only (shape 0, curvature 0)")
		end
		if fo > 0 then
			assert(it.C_FADEOUTSHAPE == 0 and it.D_FADEOUTDIR == 0, "mock renders linear fades only (shape 0, curvature 0)")
		end
		if fi > 0 and t < fi then g = g * (t / fi) end
		local rem = frames_of(it.D_LENGTH, rate) - t
		if fo > 0 and rem < fo then g = g * (rem / fo) end
		return g
	end

	-- The file source under a take and how a source frame maps into it.
	local function source_reader(tk, rate, cache)
		local src = tk.source
		local sec = nil
		if src.type == "SECTION" then sec = src; src = src.parent end
		local info = src.info
		local total = sec and round(sec.len * rate) or info.frames
		local base = sec and round(sec.offs * rate) or 0
		local data = cache[src.filename]
		if not data then
			local rd = assert(core.reader(info))
			data = rd:read(0, info.frames)
			rd:close()
			cache[src.filename] = data
		end
		-- frame within the (section) source -> interleaved index base, or nil (silence)
		return info, total, function(sf, loop)
			if sf < 0 or sf >= total then
				if not loop then return nil end
				sf = sf % total
			end
			local ff = sec and sec.rev and (base + total - 1 - sf) or (base + sf)
			if ff < 0 or ff >= info.frames then return nil end
			return ff * info.channels
		end, data
	end

	local function mixmode(it)
		if it.mixflag and it.mixflag >= 0 then return it.mixflag end
		return P.itemmix
	end

	-- Renders frames [0, nframes) of a track's timeline at `rate` into `nch` channel arrays
	-- (1-based). Every non-muted item's active take plays its source through D_STARTOFFS at
	-- D_PLAYRATE 1; overlapping items mix or replace each other by the item mix behaviour;
	-- fades apply; beyond the source is silence, or the source again with B_LOOPSRC.
	function P.render_track(tr, rate, nframes, nch)
		local out = {}
		for c = 1, nch do
			local a = {}
			for i = 1, nframes do a[i] = 0.0 end
			out[c] = a
		end
		local cache = {}
		local items = {}
		for _, it in ipairs(tr.items) do items[#items + 1] = it end
		table.sort(items, function(a, b)
			if a.D_POSITION ~= b.D_POSITION then return a.D_POSITION < b.D_POSITION end
			return a.id < b.id
		end)
		-- where an item is silenced: later items replace earlier ones by the mix behaviour
		local silenced = {}
		for i, a in ipairs(items) do
			local list = {}
			local a0, a1 = a.D_POSITION, a.D_POSITION + a.D_LENGTH
			for j = i + 1, #items do
				local b = items[j]
				local b0, b1 = b.D_POSITION, b.D_POSITION + b.D_LENGTH
				if b0 < a1 and b1 > a0 then
					local mode = mixmode(b)
					if mode == 2 or (mode == 0 and a0 <= b0 and a1 >= b1) then
						list[#list + 1] = { math.ceil(frames_of(math.max(a0, b0), rate)), math.ceil(frames_of(math.min(a1, b1), rate)) }
					end
				end
			end
			silenced[a] = list
		end
		for _, it in ipairs(items) do
			local tk = it.takes[it.cur]
			if tk and it.B_MUTE == 0 then
				assert(tk.D_PLAYRATE == 1, "renderer models playrate 1 only")
				local info, _, map, data = source_reader(tk, rate, cache)
				assert(info.rate == rate, "renderer: source rate differs from the timeline rate")
				local p0 = frames_of(it.D_POSITION, rate)
				local f0 = math.max(0, math.ceil(p0))
				local f1 = math.min(nframes, math.ceil(frames_of(it.D_POSITION + it.D_LENGTH, rate)))
				local src0 = round(frames_of(tk.D_STARTOFFS, rate) + (f0 - p0))
				local n = info.channels
				local mode = tk.I_CHANMODE
				local loop = it.B_LOOPSRC ~= 0
				local quiet = silenced[it]
				for f = f0, f1 - 1 do
					local plays = true
					for _, q in ipairs(quiet) do if f >= q[1] and f < q[2] then plays = false end end
					local base = plays and map(src0 + (f - f0), loop)
					if base then
						local g = fade_gain(it, f - p0, rate) * it.D_VOL * tk.D_VOL
						if mode == 0 then
							for c = 1, math.min(n, nch) do out[c][f + 1] = out[c][f + 1] + g * data[base + c] end
						elseif mode == 1 then
							out[1][f + 1] = out[1][f + 1] + g * data[base + 2]
							if nch > 1 then out[2][f + 1] = out[2][f + 1] + g * data[base + 1] end
						elseif mode == 2 then
							local s = 0
							for c = 1, n do s = s + data[base + c] end
							out[1][f + 1] = out[1][f + 1] + g * s / n
						elseif mode >= 67 then
							local c = mode - 66 -- 67 = channels 1/2, 68 = 2/3, ...
							assert(c + 1 <= n, "I_CHANMODE selects a stereo pair the source does not have")
							out[1][f + 1] = out[1][f + 1] + g * data[base + c]
							if nch > 1 then out[2][f + 1] = out[2][f + 1] + g * data[base + c + 1] end
						else
							local c = mode - 2 -- 3 = channel 1 (left), 4 = channel 2, ...
							assert(c <= n, "I_CHANMODE selects a channel the source does not have")
							out[1][f + 1] = out[1][f + 1] + g * data[base + c]
						end
					end
				end
			end
		end
		return out
	end

	-- REAPER's API functions are C: a call costs the slice a fixed M.COST.api_call_instr
	-- instructions' worth, not the mock's own Lua bookkeeping (which is no model of REAPER's
	-- cost: e.g. GetMediaItem sorts the items here). Bytes read or written still count.
	local function api_done(...)
		P.in_api = false
		return ...
	end
	for name, fn in pairs(R) do
		if type(fn) == "function" then
			R[name] = function(...)
				if P.in_api or not P.metering then return fn(...) end
				P.in_api = true
				P.slice_instr = P.slice_instr + M.COST.api_call_instr
				return api_done(fn(...))
			end
		end
	end
	P.reaper = R
	return P
end

-- Fails when any mock made since the last call saw unbalanced undo blocks or UI refresh.
function M.check_all()
	local list = M.all or {}
	M.all = {}
	M.active = nil
	for _, P in ipairs(list) do P.check() end
end

return M
