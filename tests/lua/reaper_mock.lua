-- A mock of the REAPER API functions the ghostrec scripts call, written from the documented
-- semantics (REAPER API reference: GetMediaItemInfo_Value, GetMediaItemTakeInfo_Value,
-- SplitMediaItem "the original item becomes the left-hand split, the function returns the
-- right-hand split", SetMediaItemTake_Source "the old source will not be destroyed",
-- EnumerateFiles "fileindex = -1 forces re-read of the directory", GetPlayState "&1 playing,
-- &2 paused, &4 recording", I_CHANMODE "0=normal, 1=reverse stereo, 2=downmix, 3=left,
-- 4=right" and 2+N = mono channel N for multichannel sources), over real WAV files read with
-- ghostrec core. Plus a renderer that plays a track's timeline so tests compare audio.
local core = require("ghostrec.core")

local M = {}

local function round(x) return math.floor(x + 0.5) end

function M.new(opts)
	opts = opts or {}
	local P = {
		tracks = {}, markers = {}, undo_points = {}, undo_depth = 0, undo_begin_calls = 0,
		extstate = {}, persisted = {}, toggles = {}, refreshed = {}, deferred = {}, atexit = {},
		console = {}, mb = {}, play_state = 0, dir_cache = {}, sources_alive = {},
		user_inputs = {}, calls = {}, next_id = 1, script_path = opts.script_path or "/mock/script.lua",
		section_id = 0, command_id = opts.command_id or 55001, clock = 0,
	}
	local R = {}
	M.last = P

	local function track_call(name) P.calls[name] = (P.calls[name] or 0) + 1 end
	local function new_id() P.next_id = P.next_id + 1; return P.next_id end

	-- Sources -------------------------------------------------------------------------------
	local function make_source(path)
		local info = core.open_audio(path)
		if not info then return nil end
		local src = { kind = "PCM_source", id = new_id(), filename = path, info = info, destroyed = false }
		P.sources_alive[src] = true
		return src
	end
	P.make_source = make_source

	local function dup_source(src)
		local d = make_source(src.filename)
		return d
	end

	function R.PCM_Source_CreateFromFile(path)
		track_call("PCM_Source_CreateFromFile")
		return make_source(path)
	end
	R.PCM_Source_CreateFromFileEx = function(path) return R.PCM_Source_CreateFromFile(path) end

	function R.PCM_Source_Destroy(src)
		track_call("PCM_Source_Destroy")
		assert(src and src.kind == "PCM_source", "PCM_Source_Destroy: not a source")
		assert(not src.destroyed, "PCM_Source_Destroy: source destroyed twice")
		for _, tr in ipairs(P.tracks) do
			for _, it in ipairs(tr.items) do
				for _, tk in ipairs(it.takes) do
					assert(tk.source ~= src, "PCM_Source_Destroy: source still used by a take")
				end
			end
		end
		src.destroyed = true
		P.sources_alive[src] = nil
	end

	function R.GetMediaSourceFileName(src)
		assert(src and not src.destroyed, "GetMediaSourceFileName on a destroyed source")
		return src.filename
	end
	function R.GetMediaSourceSampleRate(src) return src.info.rate end
	function R.GetMediaSourceNumChannels(src) return src.info.channels end
	function R.GetMediaSourceLength(src) return src.info.frames / src.info.rate, false end
	function R.GetMediaSourceType(src) return "WAVE" end

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
			D_VOL = 1, B_MUTE = 0, B_LOOPSRC = 0, B_UISEL = 0 }
		for k, v in pairs(fields or {}) do it[k] = v end
		tr.items[#tr.items + 1] = it
		return it
	end

	-- Test helper: an item on `tr` playing `path` from `startoffs` seconds, at `pos` for `len`.
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
			D_STARTOFFS = startoffs or 0, D_PLAYRATE = 1, D_VOL = 1, I_CHANMODE = 0, name = path:match("[^/]*$") }
		for k, v in pairs(fields or {}) do tk[k] = v end
		it.takes[#it.takes + 1] = tk
		it.cur = #it.takes
		return tk
	end

	local function all_items()
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
	function R.GetTake(it, idx) return it.takes[idx + 1] end
	R.GetMediaItemTake = R.GetTake
	function R.GetActiveTake(it) return it.takes[it.cur] end
	function R.GetMediaItemTake_Item(tk) return tk.item end
	function R.GetMediaItemTake_Source(tk) return tk.source end
	function R.GetMediaItemTake_Track(tk) return tk.item.track end

	local ITEM_KEYS = { D_POSITION = true, D_LENGTH = true, D_FADEINLEN = true, D_FADEOUTLEN = true,
		D_FADEINLEN_AUTO = true, D_FADEOUTLEN_AUTO = true, C_FADEINSHAPE = true, C_FADEOUTSHAPE = true,
		D_VOL = true, B_MUTE = true, B_LOOPSRC = true, B_UISEL = true, D_FADEINDIR = true, D_FADEOUTDIR = true }
	local TAKE_KEYS = { D_STARTOFFS = true, D_PLAYRATE = true, D_VOL = true, I_CHANMODE = true }

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
		if key == "IP_TAKENUMBER" then
			for i, t in ipairs(tk.item.takes) do if t == tk then return i - 1 end end
		end
		assert(TAKE_KEYS[key], "mock: take key not modelled: " .. key)
		return tk[key]
	end
	function R.SetMediaItemTakeInfo_Value(tk, key, v)
		track_call("SetMediaItemTakeInfo_Value")
		assert(TAKE_KEYS[key], "mock: take key not modelled: " .. key)
		assert(type(v) == "number", "SetMediaItemTakeInfo_Value: value must be a number")
		if key == "I_CHANMODE" then v = math.floor(v) end
		tk[key] = v
		return true
	end
	function R.GetSetMediaItemTakeInfo_String(tk, key, value, set)
		if key ~= "P_NAME" then return false, "" end
		if set then tk.name = value end
		return true, tk.name
	end

	-- "Set media source of media item take. The old source will not be destroyed, it is the
	-- caller's responsibility to retrieve it and destroy it after. If source already exists in
	-- any project, it will be duplicated before being set."
	function R.SetMediaItemTake_Source(tk, src)
		track_call("SetMediaItemTake_Source")
		assert(src and src.kind == "PCM_source" and not src.destroyed, "SetMediaItemTake_Source: bad source")
		local in_use = false
		for _, tr in ipairs(P.tracks) do
			for _, it in ipairs(tr.items) do
				for _, t in ipairs(it.takes) do if t.source == src then in_use = true end end
			end
		end
		if in_use then src = dup_source(src) end
		tk.source = src
		return true
	end

	-- "the original item becomes the left-hand split, the function returns the right-hand
	-- split (or NULL if the split failed)". Every take of the right-hand split plays on from
	-- where the left one stopped: its start offset grows by the split offset times the rate.
	function R.SplitMediaItem(it, pos)
		track_call("SplitMediaItem")
		local s, e = it.D_POSITION, it.D_POSITION + it.D_LENGTH
		if not (pos > s and pos < e) then return nil end
		local right = new_item(it.track, {})
		for k in pairs(ITEM_KEYS) do right[k] = it[k] end
		right.D_POSITION = pos
		right.D_LENGTH = e - pos
		right.D_FADEINLEN = 0
		right.D_FADEOUTLEN = it.D_FADEOUTLEN
		right.B_UISEL = it.B_UISEL
		it.D_LENGTH = pos - s
		it.D_FADEOUTLEN = 0
		for i, tk in ipairs(it.takes) do
			local copy = { kind = "MediaItem_Take", id = new_id(), item = right }
			for k, v in pairs(tk) do if TAKE_KEYS[k] or k == "name" then copy[k] = v end end
			copy.D_STARTOFFS = tk.D_STARTOFFS + (pos - s) * tk.D_PLAYRATE
			copy.source = dup_source(tk.source)
			right.takes[i] = copy
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
					if typename == "MediaItem_Take*" and ptr == tk then return true end
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
	-- Actions by command ID; only the ones the scripts use are modelled.
	local ACTIONS = { [40047] = "Peaks: Build any missing peaks" }
	P.actions_run = {}
	function R.Main_OnCommand(cmd, flag)
		assert(ACTIONS[cmd], "mock: action not modelled: " .. tostring(cmd))
		P.actions_run[#P.actions_run + 1] = cmd
	end
	function R.UpdateTimeline() track_call("UpdateTimeline") end
	function R.PreventUIRefresh(n) P.ui_refresh = (P.ui_refresh or 0) + n end
	function R.ShowConsoleMsg(msg) P.console[#P.console + 1] = msg end
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
	end

	-- Actions, transport, defer ---------------------------------------------------------------
	function R.get_action_context()
		return false, P.script_path, P.section_id, P.command_id, -1, -1, -1, ""
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
	function R.time_precise() return P.clock end
	function R.defer(fn)
		assert(type(fn) == "function", "defer needs a function")
		P.deferred[#P.deferred + 1] = fn
		return true
	end
	function R.runloop(fn) return R.defer(fn) end
	function R.atexit(fn) P.atexit[#P.atexit + 1] = fn end

	-- Runs one UI timer tick: every function deferred before the tick runs once.
	function P.tick(seconds)
		P.clock = P.clock + (seconds or 0.1)
		local list = P.deferred
		P.deferred = {}
		for _, fn in ipairs(list) do fn() end
		return #P.deferred > 0
	end
	-- The script instance ends (toggled off or REAPER quits): atexit handlers run.
	function P.terminate()
		P.deferred = {}
		local list = P.atexit
		P.atexit = {}
		for _, fn in ipairs(list) do fn() end
	end

	-- Files -------------------------------------------------------------------------------------
	local function list_dir(path)
		local p = io.popen('ls -1A "' .. path:gsub('"', '\\"') .. '" 2>/dev/null')
		local files = {}
		if p then
			for name in p:lines() do
				local f = io.open(path .. "/" .. name, "rb")
				if f then
					-- directories open on Linux but fail to read
					local ok = f:read(0)
					f:close()
					if ok then files[#files + 1] = name end
				end
			end
			p:close()
		end
		table.sort(files)
		return files
	end
	function R.EnumerateFiles(path, idx)
		track_call("EnumerateFiles")
		path = path:gsub("[/\\]+$", "")
		if idx < 0 then
			P.dir_cache[path] = nil
			return nil
		end
		-- REAPER caches directory listings: a script sees new files only after asking for a
		-- re-read with fileindex -1.
		if not P.dir_cache[path] then P.dir_cache[path] = list_dir(path) end
		return P.dir_cache[path][idx + 1]
	end
	function R.file_exists(path)
		local f = io.open(path, "rb")
		if not f then return false end
		local ok = f:read(0)
		f:close()
		return ok ~= nil
	end
	function R.GetProjectPath() return opts.project_path or "/tmp" end
	function R.GetResourcePath() return opts.resource_path or "/tmp" end
	function R.GetOS() return "Other" end
	function R.GetAppVersion() return "7.27/linux-x86_64 (mock)" end

	-- Renderer ------------------------------------------------------------------------------------
	-- Channels a take contributes, after I_CHANMODE.
	local function take_channels(tk)
		local n = tk.source.info.channels
		local mode = tk.I_CHANMODE
		if mode == 0 or mode == 1 then return n end
		return 1
	end
	P.take_channels = take_channels

	-- Positions and lengths are seconds (doubles); the renderer works in frames, snapping
	-- values that are a whole number of frames up to float noise onto that number.
	local function frames_of(seconds, rate)
		local x = seconds * rate
		local r = round(x)
		if math.abs(x - r) < 1e-6 then return r end
		return x
	end

	-- Fade gain `t` frames into an item (linear shapes, C_FADE*SHAPE = 0). Auto fades (the
	-- _AUTO values, when >= 0) take precedence over manual ones, as in REAPER.
	local function fade_gain(it, t, rate)
		-- REAPER documents only shape 0 (linear): a script setting another one would be
		-- rendered here with a curve nobody can check.
		assert(it.C_FADEINSHAPE == 0 and it.C_FADEOUTSHAPE == 0, "mock renders fade shape 0 (linear) only")
		local g = 1
		local fi = (it.D_FADEINLEN_AUTO and it.D_FADEINLEN_AUTO > 0) and it.D_FADEINLEN_AUTO or it.D_FADEINLEN
		local fo = (it.D_FADEOUTLEN_AUTO and it.D_FADEOUTLEN_AUTO > 0) and it.D_FADEOUTLEN_AUTO or it.D_FADEOUTLEN
		fi, fo = frames_of(fi, rate), frames_of(fo, rate)
		if fi > 0 and t < fi then g = g * (t / fi) end
		local rem = frames_of(it.D_LENGTH, rate) - t
		if fo > 0 and rem < fo then g = g * (rem / fo) end
		return g
	end

	-- Renders frames [0, nframes) of a track's timeline at `rate` into `nch` channel arrays
	-- (1-based). Every non-muted item's active take plays its source through D_STARTOFFS at
	-- D_PLAYRATE 1; overlapping items add up; fades apply; beyond the source is silence.
	function P.render_track(tr, rate, nframes, nch)
		local out = {}
		for c = 1, nch do
			local a = {}
			for i = 1, nframes do a[i] = 0.0 end
			out[c] = a
		end
		for _, it in ipairs(tr.items) do
			local tk = it.takes[it.cur]
			if tk and it.B_MUTE == 0 then
				assert(tk.D_PLAYRATE == 1, "renderer models playrate 1 only")
				local info = tk.source.info
				assert(info.rate == rate, "renderer: source rate differs from the timeline rate")
				local p0 = frames_of(it.D_POSITION, rate)
				local f0 = math.max(0, math.ceil(p0))
				local f1 = math.min(nframes, math.ceil(frames_of(it.D_POSITION + it.D_LENGTH, rate)))
				if f1 > f0 then
					local src0 = round(frames_of(tk.D_STARTOFFS, rate) + (f0 - p0))
					local lo = math.max(0, src0)
					local hi = math.min(info.frames, src0 + (f1 - f0))
					local rd = assert(core.reader(info))
					local data = {}
					if hi > lo then data = rd:read(lo, hi - lo) end
					rd:close()
					local n = info.channels
					local mode = tk.I_CHANMODE
					for f = f0, f1 - 1 do
						local sf = src0 + (f - f0)
						if sf >= lo and sf < hi then
							local g = fade_gain(it, f - p0, rate) * it.D_VOL * tk.D_VOL
							local base = (sf - lo) * n
							if mode == 0 then
								for c = 1, math.min(n, nch) do
									out[c][f + 1] = out[c][f + 1] + g * data[base + c]
								end
							elseif mode == 1 then
								out[1][f + 1] = out[1][f + 1] + g * data[base + 2]
								if nch > 1 then out[2][f + 1] = out[2][f + 1] + g * data[base + 1] end
							elseif mode == 2 then
								local s = 0
								for c = 1, n do s = s + data[base + c] end
								out[1][f + 1] = out[1][f + 1] + g * s / n
							else
								local c = mode - 2 -- 3 = channel 1 (left), 4 = channel 2, ...
								assert(c <= n, "I_CHANMODE selects a channel the source does not have")
								out[1][f + 1] = out[1][f + 1] + g * data[base + c]
							end
						end
					end
				end
			end
		end
		return out
	end

	P.reaper = R
	return P
end

return M
