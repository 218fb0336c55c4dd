-- Shared by the action tests: a fresh REAPER mock with the scripts loaded against it, test
-- scenarios (a clean take and a damaged REAPER take of it as real WAV files), and checks of
-- the rendered timeline against the pristine audio.
local core = require("ghostrec.core")
local G = require("gen")
local T = require("testlib")
local mock = require("reaper_mock")

local S = {}
local RATE = 48000
S.RATE = RATE

local function fresh(opts)
	opts = opts or {}
	if not opts.project_path and not opts.windows then opts.project_path = T.dir("project") end
	local P = mock.new(opts)
	_G.reaper = P.reaper
	for m in pairs(package.loaded) do
		if m:match("^ghostrec%.") and not mock.PURE_MODULES[m] then package.loaded[m] = nil end
	end
	P.script_path = (os.getenv("GHOSTREC_SRC") or ".") .. "/reascripts/" .. (P.script_path:match("[^/]*$"))
	return P, require("ghostrec.replace"), require("ghostrec.settings")
end

-- Where the scripts put a clean file: the project's media folder.
local function media(P, path) return P.project_path .. "/" .. path:match("[^/\\]*$") end

-- Does a take play clean file `path` (its copy in the media folder, or for a 16/24-bit
-- recording the clean audio in the recording's integers made there: ghostrec.takeformat)?
local function plays_clean(P, filename, path)
	if filename == media(P, path) then return true end
	local paths = require("ghostrec.paths")
	local id, _, kind = paths.parse_clean_name(filename:match("[^/\\]*$"))
	return kind == "takeformat" and id == paths.parse_clean_name(path:match("[^/\\]*$")) and
		filename == P.project_path .. "/" .. filename:match("[^/\\]*$")
end

local function set_cfg(P, inbox, join, xfade_ms, markers)
	P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
	P.reaper.SetExtState("ghostrec", "join", join or "crossfade", true)
	P.reaper.SetExtState("ghostrec", "xfade_ms", tostring(xfade_ms or 4), true)
	P.reaper.SetExtState("ghostrec", "markers", (markers == false) and "0" or "1", true)
end

-- Contents of every recording in the project; compared before/after: never modified.
local function recordings(P)
	local names = {}
	for path in pairs(P.recorded_files) do names[#names + 1] = path end
	table.sort(names)
	local parts = {}
	for _, path in ipairs(names) do parts[#parts + 1] = path .. "\0" .. T.read_file(path) end
	return table.concat(parts, "\0")
end

-- Runs an action script file the way REAPER does, then the UI cycles until it finished.
-- Returns how many deferred cycles it used.
local function run_script(P, name)
	P.launch((os.getenv("GHOSTREC_SRC") or ".") .. "/reascripts/" .. name)
	local cycles = 0
	while #P.deferred > 0 do
		P.tick(0.03)
		cycles = cycles + 1
		assert(cycles < 100000, "script never finished")
	end
	return cycles
end

-- The state of the project as plain text (items, takes, markers), to prove "nothing changed".
local function snapshot(P)
	local out = {}
	for ti, tr in ipairs(P.tracks) do
		for _, it in ipairs(P.all_items()) do
			if it.track == tr then
				out[#out + 1] = string.format("T%d %.9f %.9f %g %g", ti, it.D_POSITION, it.D_LENGTH, it.D_FADEINLEN, it.D_FADEOUTLEN)
				for _, tk in ipairs(it.takes) do
					out[#out + 1] = string.format("  %s %.9f %d", tk.source.filename, tk.D_STARTOFFS, tk.I_CHANMODE)
				end
			end
		end
	end
	for _, m in ipairs(P.markers) do out[#out + 1] = string.format("M %.9f %s", m.pos, m.name) end
	return table.concat(out, "\n")
end

-- Frames of the timeline that are allowed to differ: crossfade joins (+- half the crossfade,
-- plus inserted frames, which have no clean counterpart).
local function join_mask(truth, take_to_timeline, half_frames)
	local mask = {}
	local segs = truth.segments
	for k = 2, #segs do
		local j = segs[k].take_start
		local gap = j - segs[k - 1].take_end
		for f = j - gap - half_frames - 1, j + half_frames + 1 do
			local tl = take_to_timeline(f)
			if tl then mask[tl] = true end
		end
	end
	return mask
end

-- Expected pristine audio at take frame tf (nil = no clean counterpart).
local function pristine(clean_ch, truth, tf)
	for _, s in ipairs(truth.segments) do
		if tf >= s.take_start and tf < s.take_end then return clean_ch[tf - s.take_start + s.clean_start + 1] end
	end
	return nil
end

-- Compares rendered timeline frames [f0, f1) with the pristine audio; for a 16/24-bit take
-- (truth.bits) the pristine audio in the take's integers (the scripts play the clean audio
-- converted with the take's own convention: ghostrec.takeformat).
local function check_render(out, clean_ch, truth, f0, f1, timeline_to_take, mask, what)
	local checked = 0
	for f = f0, f1 - 1 do
		if not mask[f] then
			local tf = timeline_to_take(f)
			local want = pristine(clean_ch, truth, tf)
			if want and truth.bits then want = G.quantized(want, truth.bits) end
			if want then
				if out[f + 1] ~= want then
					error(string.format("%s: timeline frame %d (take frame %d): got %.9g, pristine %.9g", what, f, tf,
						out[f + 1], want), 2)
				end
				checked = checked + 1
			end
		end
	end
	return checked
end

-- A stereo clean take and a damaged 24-bit REAPER take of it, written to dir.
local function scenario(dir, opts)
	opts = opts or {}
	local take_id = opts.take_id or 1001
	local L = opts.clean_frames or RATE * 3
	local clean = { G.noise(take_id, L, 0.5), G.noise(take_id + 1, L, 0.5) }
	local clean_from = opts.clean_from or 12000
	local mframe = opts.marker_frame or 3000
	local take, truth = G.make_take(clean, clean_from, opts.frames or RATE * 2,
		(opts.marker ~= false) and { frame = mframe, take_id = take_id, channel = opts.marker_channel or 0 } or nil,
		opts.glitches or {
			{ at = 20000, kind = "dropped", frames = 256 },
			{ at = 45000, kind = "replaced", frames = 300 },
			{ at = 60000, kind = "inserted", frames = 128 },
			{ at = 80000, kind = "dropped", frames = 1024 },
		}, opts.take_channels or { 1, 2 })
	local take_path = dir .. "/" .. (opts.take_name or "Track 1-001.wav")
	local fmt = opts.format or "pcm24"
	G.write_wav(take_path, opts.take_rate or RATE, take, fmt)
	truth.bits = (fmt == "pcm16") and 16 or ((fmt == "pcm24") and 24 or nil)
	local inbox = dir .. "/inbox"
	os.execute('mkdir -p "' .. inbox .. '"')
	local clean_path
	if opts.write_clean ~= false then
		clean_path = G.write_clean(inbox, take_id, RATE, clean, clean_from + mframe, opts.clean_opts)
	end
	return { clean = clean, take = take, truth = truth, take_path = take_path, inbox = inbox, clean_path = clean_path,
		take_id = take_id }
end

local function glitch_markers_at(P, item_pos, startoffs_frames, truth)
	local want = {}
	for _, g in ipairs(truth.glitches) do
		want[#want + 1] = string.format("%.6f %s %d", item_pos + (g.take_frame - startoffs_frames) / RATE, g.kind, g.frames)
	end
	local got = {}
	for _, m in ipairs(P.markers) do
		local kind, n = m.name:match("^ghostrec: (%a+) (%d+) frame")
		got[#got + 1] = string.format("%.6f %s %s", m.pos, kind, n)
	end
	table.sort(want); table.sort(got)
	T.eq(table.concat(got, "\n"), table.concat(want, "\n"), "glitch markers")
end


S.plays_clean = plays_clean
S.fresh, S.media, S.set_cfg, S.recordings, S.run_script, S.snapshot = fresh, media, set_cfg, recordings, run_script, snapshot
S.join_mask, S.pristine, S.check_render, S.scenario, S.glitch_markers_at = join_mask, pristine, check_render, scenario,
	glitch_markers_at
return S
