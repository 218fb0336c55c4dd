-- The scripts as real REAPER 7 on Windows behaves (the mock's Windows filesystem, empty
-- take lanes, SECTION sources, overlap-on-split, B_LOOPSRC, item mix modes, script
-- instances and relaunch, the undo/UI balance and the slice meter): one or more cases per
-- behaviour the scripts must get right.
local core = require("ghostrec.core")
local G = require("gen")
local T = require("testlib")
local mock = require("reaper_mock")
local S = require("scene")

local RATE = S.RATE
local fresh, media, set_cfg, run_script, snapshot = S.fresh, S.media, S.set_cfg, S.run_script, S.snapshot
local join_mask, check_render, scenario = S.join_mask, S.check_render, S.scenario
local SRC = os.getenv("GHOSTREC_SRC") or "."
local WATCH = SRC .. "/reascripts/ghostrec_Watch inbox and replace takes automatically.lua"
local ALL = SRC .. "/reascripts/ghostrec_Replace all takes whose clean recording has arrived.lua"
local SELECTED = SRC .. "/reascripts/ghostrec_Replace selected takes with clean recordings.lua"
local SETTINGS = SRC .. "/reascripts/ghostrec_Settings.lua"

local cases = {}
local function case(name, fn) cases[#cases + 1] = { name, fn } end

local function ticks(P, n, dt)
	for _ = 1, n do P.tick(dt or 0.05) end
end
-- Ticks until no script instance has work deferred (or n ticks).
local function settle(P, n)
	for _ = 1, n or 20000 do
		if #P.deferred == 0 then return end
		P.tick(0.03)
	end
end
local function exists(path)
	local f = io.open(path, "rb")
	if f then f:close() return true end
	return false
end
local function ls(dir)
	local p = io.popen('ls -1A "' .. dir .. '" 2>/dev/null')
	local t = {}
	for l in p:lines() do t[#t + 1] = l end
	p:close()
	return table.concat(t, " ")
end
-- Renders a single-item scenario's track and checks it against the pristine audio.
local function check_scene(P, tr, sc, pos, half, what, chans)
	local f0 = math.floor(pos * RATE + 0.5)
	local n = #sc.take[1]
	local out = P.render_track(tr, RATE, f0 + n, chans or 2)
	local mask = join_mask(sc.truth, function(tf) return f0 + tf end, half or 0)
	local checked = 0
	for c = 1, chans or 2 do
		checked = checked + check_render(out[c], sc.clean[c], sc.truth, f0, f0 + n, function(f) return f - f0 end, mask,
			(what or "render") .. " ch" .. c)
	end
	T.ok(checked > (n - 2000) * (chans or 2), "frames checked " .. checked)
	return out
end

---------------------------------------------------------------------------------------------
-- 1. Windows folders: io.open of a folder fails there.
---------------------------------------------------------------------------------------------
case("windows: an empty inbox is an empty inbox, a missing one is reported, paths are Windows paths", function()
	local root = T.dir("win")
	os.execute('mkdir -p "' .. root .. '/inbox" "' .. root .. '/proj/Media"')
	local P = fresh({ windows = { drives = { D = root } }, project_path = "D:\\proj\\Media" })
	set_cfg(P, "D:\\inbox", "cut")
	local sc = scenario(root .. "/proj/Media", { write_clean = false, take_name = "Vox-001.wav" })
	local tr = P.add_track()
	P.add_item(tr, "D:\\proj\\Media\\Vox-001.wav", 1.0, 2.0, 0)
	P.launch(ALL)
	settle(P)
	local text = table.concat(P.console)
	T.ok(not text:find("not found", 1, true), "empty inbox is not 'not found': " .. text)
	T.contains(text, "no recording in this project has its clean take in the inbox yet", "said so")
	-- the exporter delivers: replaced, with Windows paths throughout
	G.write_clean(root .. "/inbox", sc.take_id, RATE, sc.clean, 12000 + 3000)
	P.launch(ALL)
	settle(P)
	T.eq(#P.undo_points, 1, "replaced")
	for _, x in ipairs(tr.items) do
		-- a 24-bit recording: the clean audio in its integers, made in the media folder
		T.ok(x.takes[1].source.filename:match("^D:\\proj\\Media\\ghostrec%-" .. sc.take_id .. "%-ch0x2%-24bit%-%w+%.wav$"),
			"clean audio in the media folder: " .. x.takes[1].source.filename)
	end
	check_scene(P, tr, sc, 1.0, 0, "windows")
	-- a folder that is not there
	set_cfg(P, "D:\\nowhere", "cut")
	P.launch(ALL)
	settle(P)
	T.contains(table.concat(P.console), "inbox folder not found or not readable: D:\\nowhere", "missing folder")
end)

case("windows: the watcher starts on an empty inbox without complaint", function()
	local root = T.dir("win-watch")
	os.execute('mkdir -p "' .. root .. '/inbox" "' .. root .. '/proj"')
	local P = fresh({ windows = { drives = { D = root } }, project_path = "D:\\proj" })
	set_cfg(P, "D:\\inbox\\", "cut")
	P.launch(WATCH)
	ticks(P, 40, 0.1)
	for _, m in ipairs(P.console) do T.ok(not m:find("not found", 1, true), "no error on an empty inbox: " .. m) end
	P.terminate()
end)

---------------------------------------------------------------------------------------------
-- 2. No freezes: every UI slice stays short (mock cost model).
---------------------------------------------------------------------------------------------
-- A recording with no marker as REAPER writes it (silence is as costly to scan as music).
local function silent_take(path, seconds)
	local n = seconds * RATE
	local f = assert(io.open(path, "wb"))
	local data = n * 2 * 3
	f:write("RIFF", string.pack("<I4", 36 + data), "WAVE", "fmt ", string.pack("<I4I2I2I4I4I2I2", 16, 1, 2, RATE, RATE * 6, 6, 24),
		"data", string.pack("<I4", data))
	local chunk = string.rep("\0", 1 << 20)
	local left = data
	while left > 0 do
		local k = math.min(left, #chunk)
		f:write(chunk:sub(1, k))
		left = left - k
	end
	f:close()
end

case("slices: 'Replace all' over old recordings and a new take never holds the UI longer than 100 ms; a repeat reads no old take", function()
	local dir = T.dir("slices")
	local sc = scenario(dir, { take_name = "New-001.wav" })
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local old = {}
	for i = 1, 5 do
		local path = string.format("%s/Old-%03d.wav", dir, i)
		silent_take(path, 30)
		old[#old + 1] = path
		P.add_item(P.add_track(), path, 0, 30, 0)
	end
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 0, 2.0, 0)
	-- slices the conform engine ran in: its own slicing is the engine's (conform.lua)
	local in_conform = {}
	local real = core.conform_run
	core.conform_run = function(...)
		local first = #P.slices + 1
		local r = table.pack(real(...))
		for i = first, #P.slices + 1 do in_conform[i] = true end
		return table.unpack(r, 1, r.n)
	end
	P.launch(ALL)
	settle(P)
	core.conform_run = real
	T.eq(#P.undo_points, 1, "the new take replaced")
	T.ok(#P.slices > 8, "work spread over UI slices: " .. #P.slices)
	local longest, engine = 0, 0
	for i, ms in ipairs(P.slices) do
		if in_conform[i] then engine = math.max(engine, ms) else longest = math.max(longest, ms) end
	end
	T.ok(longest <= 100, string.format("longest slice outside the conform engine %.1f ms (model)", longest))
	T.ok(engine <= 100, string.format("longest slice in the conform engine %.1f ms (model)", engine))
	print(string.format("     longest slice %.1f ms outside the conform engine, %.1f ms with it (model)", longest, engine))
	-- the exporter triggers it again after the next delivery: the old takes' heads are not read again
	for _, path in ipairs(old) do P.opens[path] = 0 end
	G.write_clean(sc.inbox, 4242, RATE, { G.noise(1, 20000), G.noise(2, 20000) }, 100)
	P.launch(ALL)
	settle(P)
	for _, path in ipairs(old) do T.eq(P.opens[path], 0, "no re-read of " .. path) end
	print(string.format("     %d slices in all", #P.slices))
end)

case("slices: a silent marker-less recording compared by content with a longer clean take never holds the UI longer than 100 ms", function()
	local dir = T.dir("slices-content")
	local sc = scenario(dir, { take_name = "New-001.wav", clean_frames = RATE * 22 })
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	-- 20 s of silence: the content search looks for sound in it all (window by window)
	local path = dir .. "/Old-001.wav"
	silent_take(path, 20)
	P.add_item(P.add_track(), path, 0, 20, 0)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 0, 2.0, 0)
	local compared = {}
	local real = core.conform_run
	core.conform_run = function(ti, ...)
		compared[#compared + 1] = ti.path
		return real(ti, ...)
	end
	P.launch(ALL)
	settle(P)
	core.conform_run = real
	T.eq(#P.undo_points, 1, "the new take replaced")
	T.ok(table.concat(compared, " "):find("Old-001.wav", 1, true), "the old recording was compared by content")
	local longest = 0
	for _, ms in ipairs(P.slices) do longest = math.max(longest, ms) end
	T.ok(longest <= 100, string.format("longest slice %.1f ms (model)", longest))
	print(string.format("     longest slice %.1f ms (model), %d slices", longest, #P.slices))
end)

case("slices: the conform runs in a coroutine resumed from defer, several slices for a long take", function()
	local dir = T.dir("slices-conform")
	local sc = scenario(dir, { frames = RATE * 8, clean_frames = RATE * 9, glitches = {
		{ at = 100000, kind = "dropped", frames = 512 }, { at = 300000, kind = "replaced", frames = 300 } } })
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 0, 8.0, 0, { B_UISEL = 1 })
	local in_conform_slices = {}
	local real = core.conform_run
	core.conform_run = function(...)
		local co = coroutine.running()
		local r = table.pack(real(...))
		in_conform_slices[#in_conform_slices + 1] = co
		return table.unpack(r, 1, r.n)
	end
	local before = #P.slices
	P.launch(SELECTED)
	settle(P)
	core.conform_run = real
	T.eq(#P.undo_points, 1, "replaced")
	T.ok(in_conform_slices[1] ~= nil, "conform ran inside a coroutine")
	T.ok(#P.slices - before >= 3, "the action yielded to the UI (" .. (#P.slices - before) .. " slices)")
	check_scene(P, tr, sc, 0, 0, "long take")
end)

---------------------------------------------------------------------------------------------
-- 3. One replacement, whoever triggers it.
---------------------------------------------------------------------------------------------
local function double_trigger(no_action_options)
	local dir = T.dir("double")
	local sc = scenario(dir, { write_clean = false })
	local P = fresh()
	if no_action_options then P.reaper.set_action_options = nil end -- REAPER before 7.03
	set_cfg(P, sc.inbox, "crossfade", 4)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 2.0, 0)
	P.command_ids = { [WATCH] = 5001, [ALL] = 5002 }
	P.launch(WATCH)
	ticks(P, 3)
	G.write_clean(sc.inbox, sc.take_id, RATE, sc.clean, 15000)
	-- the delivery makes the exporter trigger "Replace all" over OSC, twice (two deliveries)
	P.launch(ALL)
	P.tick(0.03)
	P.launch(ALL)
	ticks(P, 600)
	T.eq(#P.undo_points, 1, "one replacement, one undo point")
	check_scene(P, tr, sc, 1.0, 0.002 * RATE, "after concurrent triggers")
	P.terminate()
	return P
end

case("double application: watcher and two OSC triggers of 'Replace all' replace once, no dialog (REAPER 7.03+)", function()
	local P = double_trigger(false)
	T.eq(#P.dialogs, 0, "no 'already running' dialog")
end)

case("double application: 'New instance' in REAPER's relaunch dialog (before 7.03) still replaces once", function()
	local P = double_trigger(true)
	T.ok(#P.dialogs >= 1, "REAPER asked")
end)

case("relaunch: the watcher toggles off when triggered again; its toggle state follows", function()
	local P = fresh({ command_id = 777 })
	set_cfg(P, T.dir("inbox"), "cut")
	P.launch(WATCH)
	ticks(P, 3)
	T.eq(P.toggles["0:777"], 1, "toggle on")
	P.launch(WATCH)
	ticks(P, 3)
	T.eq(P.toggles["0:777"], 0, "toggle off after the second trigger")
	T.eq(#P.dialogs, 0, "no dialog")
	T.eq(#P.deferred, 0, "watcher ended")
end)

---------------------------------------------------------------------------------------------
-- 4. An error while changing the project leaves REAPER usable.
---------------------------------------------------------------------------------------------
case("empty take lane beside the recording (crossfade): replaced, undo and UI refresh balanced", function()
	local dir = T.dir("emptylane")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "crossfade", 4)
	local tr = P.add_track()
	local it = P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	P.add_empty_take(it)
	it.cur = 1
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced")
	T.eq(P.script_errors, nil, "no script error")
	for _, x in ipairs(tr.items) do T.eq(#x.takes, 2, "lanes kept") end
	check_scene(P, tr, sc, 1.0, 0.002 * RATE, "empty lane")
end)

case("an error in the middle of the apply: undo block closed, UI refresh restored, one clear line", function()
	local dir = T.dir("midapply")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "crossfade", 4)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	local real = P.reaper.SplitMediaItem
	local n = 0
	P.reaper.SplitMediaItem = function(...)
		n = n + 1
		if n == 2 then error("split refused") end
		return real(...)
	end
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(P.undo_depth, 0, "undo block closed")
	T.eq(P.ui_refresh, 0, "UI refresh restored")
	T.eq(#P.violations, 0, "balanced in every slice")
	T.eq(#P.undo_points, 1, "the half-done change is one undo step")
	T.contains(P.undo_points[1].desc, "failed", "named so")
	local text = table.concat(P.console)
	T.contains(text, "split refused", "reason")
	T.ok(not text:find("%.lua:%d+:"), "no file:line in the message: " .. text)
end)

---------------------------------------------------------------------------------------------
-- 6. Clean media in the project, the inbox handled.
---------------------------------------------------------------------------------------------
case("media: clean file copied into the project's media folder, delivery moved to done/, no peaks in the inbox", function()
	local dir = T.dir("media")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "crossfade", 4)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced")
	local copy = media(P, sc.clean_path)
	T.eq(T.read_file(copy), T.read_file(sc.inbox .. "/done/ghostrec-" .. sc.take_id .. ".wav"), "copy == delivery")
	for _, x in ipairs(tr.items) do T.ok(S.plays_clean(P, x.takes[1].source.filename, copy), "source is made from the copy") end
	T.ok(not exists(sc.clean_path), "delivery moved out of the inbox")
	T.ok(exists(sc.inbox .. "/done/ghostrec-" .. sc.take_id .. ".json"), "sidecar moved along")
	T.ok(not ls(sc.inbox):find("reapeaks", 1, true), "no peaks file in the inbox: " .. ls(sc.inbox))
	T.ok(not ls(sc.inbox .. "/done"):find("reapeaks", 1, true), "none in done/ either")
	-- the Linux box (and its share) goes away: the project still plays the pristine audio
	os.execute('rm -rf "' .. sc.inbox .. '"')
	check_scene(P, tr, sc, 1.0, 0.002 * RATE, "inbox removed")
end)

case("media: the watcher opens no file per poll for many handled takes", function()
	local dir = T.dir("opens")
	local P = fresh({ command_id = 4300 })
	local inbox = dir .. "/inbox"
	os.execute('mkdir -p "' .. inbox .. '"')
	set_cfg(P, inbox, "cut")
	for id = 1, 60 do
		G.write_wav(inbox .. "/ghostrec-" .. id .. ".wav", RATE, { G.noise(id, 200) }, "float32")
		P.reaper.SetProjExtState(0, "ghostrec", "done:" .. id, "1") -- replaced in this project earlier
	end
	P.launch(WATCH)
	ticks(P, 5, 0.5)
	P.opens = {}
	ticks(P, 10, 0.5)
	local n = 0
	for _, c in pairs(P.opens) do n = n + c end
	T.eq(n, 0, "files opened in 10 polls")
	P.terminate()
end)

---------------------------------------------------------------------------------------------
-- 7. Loop recording, "create new files on loop" (recaddatloop): one file per pass.
---------------------------------------------------------------------------------------------
local function loop_files(dir, loop)
	local clean = { G.noise(71, RATE * 5, 0.5), G.noise(72, RATE * 5, 0.5) }
	local passes = {}
	local glitches = { { { at = 9000, kind = "dropped", frames = 256 } }, { { at = 20000, kind = "replaced", frames = 100 } },
		{ { at = 30000, kind = "dropped", frames = 128 } } }
	local pre = 12000
	for p = 1, 3 do
		local take, truth = G.make_take(clean, pre + (p - 1) * loop, loop,
			p == 1 and { frame = 2000, take_id = 6161, channel = 0 } or nil, glitches[p], { 1, 2 })
		local path = string.format("%s/Loop-%03d.wav", dir, p)
		G.write_wav(path, RATE, take, "pcm24")
		truth.bits = 24
		passes[p] = { path = path, take = take, truth = truth }
	end
	local inbox = dir .. "/inbox"
	os.execute('mkdir -p "' .. inbox .. '"')
	return clean, passes, inbox, pre + 2000
end

for _, how in ipairs({ "watcher", "selected" }) do
	case("recaddatloop (" .. how .. "): every pass's own file is replaced, not just the one with the marker", function()
		local dir = T.dir("recaddatloop-" .. how)
		local loop = 48000
		local clean, passes, inbox, mframe = loop_files(dir, loop)
		local P = fresh()
		set_cfg(P, inbox, "cut")
		local tr = P.add_track()
		local it = P.add_item(tr, passes[1].path, 2.0, loop / RATE, 0, { B_UISEL = 1 })
		P.add_take(it, passes[2].path, 0)
		P.add_take(it, passes[3].path, 0)
		it.cur = 3
		G.write_clean(inbox, 6161, RATE, clean, mframe)
		if how == "watcher" then
			P.launch(WATCH)
			for _ = 1, 400 do P.tick(0.2); if #P.undo_points > 0 then break end end
			P.terminate()
		else
			run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
		end
		T.eq(#P.undo_points, 1, "one undo point")
		local f0 = 2 * RATE
		for p = 1, 3 do
			for _, x in ipairs(tr.items) do
				x.cur = p
				T.ok(S.plays_clean(P, x.takes[p].source.filename, P.project_path .. "/ghostrec-6161.wav"), "pass " .. p .. " replaced")
			end
			local out = P.render_track(tr, RATE, f0 + loop, 2)
			local mask = {}
			for q = 1, 3 do
				for f in pairs(join_mask(passes[q].truth, function(tf) return f0 + tf end, 0)) do mask[f] = true end
			end
			local checked = check_render(out[1], clean[1], passes[p].truth, f0, f0 + loop, function(f) return f - f0 end, mask,
				"pass " .. p)
			T.ok(checked > loop - 2000, "pass " .. p .. " frames checked " .. checked)
		end
	end)
end

---------------------------------------------------------------------------------------------
-- 8, 9. Automatic runs: quiet console; marker-less takes handled too.
---------------------------------------------------------------------------------------------
case("automatic: a marker-less take is replaced by the watcher by content; the console never pops up", function()
	local dir = T.dir("auto-content")
	local sc = scenario(dir, { marker = false, clean_from = 60000, frames = 60000, write_clean = false,
		glitches = { { at = 25000, kind = "dropped", frames = 128 } } })
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 60000 / RATE, 0)
	P.launch(WATCH)
	ticks(P, 5, 0.5)
	G.write_clean(sc.inbox, sc.take_id, RATE, sc.clean, 15000)
	for _ = 1, 400 do P.tick(0.2); if #P.undo_points > 0 then break end end
	T.eq(#P.undo_points, 1, "replaced automatically")
	T.contains(table.concat(P.console), "content alignment", "by content")
	check_scene(P, tr, sc, 1.0, 0, "content")
	-- and a second marker-less recording that matches nothing is tried once, not every poll
	local other = { G.noise(515, RATE, 0.5), G.noise(516, RATE, 0.5) }
	G.write_wav(dir .. "/Unrelated-001.wav", RATE, other, "pcm24")
	P.add_item(P.add_track(), dir .. "/Unrelated-001.wav", 0, 1.0, 0)
	G.write_clean(sc.inbox, 9191, RATE, { G.noise(1, RATE), G.noise(2, RATE) }, 100)
	local runs = 0
	local real = core.conform_run
	core.conform_run = function(...) runs = runs + 1; return real(...) end
	ticks(P, 60, 0.5)
	core.conform_run = real
	T.eq(runs, 1, "compared once")
	P.terminate()
	T.eq(P.console_popups, 0, "console never popped up")
end)

---------------------------------------------------------------------------------------------
-- 10. Geometry.
---------------------------------------------------------------------------------------------
case("geometry: overlap-on-split preference on, another take in the item: both takes play right", function()
	local dir = T.dir("geom-split")
	local sc = scenario(dir)
	local other = { G.noise(5150, RATE * 3, 0.4), G.noise(5151, RATE * 3, 0.4) }
	G.write_wav(dir .. "/Comp-002.wav", RATE, other, "float32")
	local P = fresh()
	P.prefs.split_xfade = 0.010 -- "overlap and crossfade items when splitting", 10 ms
	set_cfg(P, sc.inbox, "cut")
	local tr = P.add_track()
	local it = P.add_item(tr, sc.take_path, 2.0, 2.0, 0, { B_UISEL = 1, D_FADEINLEN = 0.001, C_FADEINSHAPE = 0 })
	P.add_take(it, dir .. "/Comp-002.wav", 0.5)
	it.cur = 1
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced")
	local mask = {}
	for f = 2 * RATE, 2 * RATE + 0.001 * RATE do mask[f] = true end
	local f0 = 2 * RATE
	local out = P.render_track(tr, RATE, f0 + 2 * RATE, 2)
	for f in pairs(join_mask(sc.truth, function(tf) return f0 + tf end, 0)) do mask[f] = true end
	check_render(out[1], sc.clean[1], sc.truth, f0, f0 + 2 * RATE, function(f) return f - f0 end, mask, "recording")
	for _, x in ipairs(tr.items) do x.cur = 2 end
	out = P.render_track(tr, RATE, f0 + 2 * RATE, 2)
	local bad = 0
	for f = f0 + 0.001 * RATE + 1, f0 + 2 * RATE - 1 do
		if math.abs(out[1][f + 1] - other[1][(f - f0) + RATE // 2 + 1]) > 1e-6 then bad = bad + 1 end
	end
	T.eq(bad, 0, "the other take plays on continuously")
end)

case("geometry: B_LOOPSRC on and a clean file that ends before the take: no wrapped audio", function()
	local dir = T.dir("geom-loop")
	-- the clean take stops 0.25 s before the REAPER take does (exporter stopped early)
	local sc = scenario(dir, { clean_from = 12000, clean_frames = 12000 + RATE * 2 - 12000, glitches = {
		{ at = 20000, kind = "dropped", frames = 256 } } })
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local tr = P.add_track()
	local it = P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	T.eq(it.B_LOOPSRC, 1, "recorded item loops its source")
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced")
	local f0 = RATE
	local out = P.render_track(tr, RATE, f0 + 2 * RATE, 2)
	local clean_len = #sc.clean[1]
	local seg = sc.truth.segments[#sc.truth.segments]
	local wrapped = 0
	for tf = 0, 2 * RATE - 1 do
		if tf >= seg.take_start and tf + seg.clean_start - seg.take_start >= clean_len and out[1][f0 + tf + 1] ~= 0 then
			wrapped = wrapped + 1
		end
	end
	T.eq(wrapped, 0, "frames past the clean file's end play silence, not its start")
end)

case("geometry: project mix behaviour 'items always replace earlier items': crossfades stay crossfades", function()
	local dir = T.dir("geom-mix")
	local sc = scenario(dir)
	local P = fresh()
	P.itemmix = 2
	set_cfg(P, sc.inbox, "crossfade", 6)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	local out = P.render_track(tr, RATE, 3 * RATE, 2)
	-- the same pieces with the default behaviour (partly overlapping items mix)
	local flags = {}
	for _, x in ipairs(tr.items) do flags[x] = x.mixflag; x.mixflag = -1 end
	P.itemmix = 0
	local ref = P.render_track(tr, RATE, 3 * RATE, 2)
	for x, v in pairs(flags) do x.mixflag = v end
	for f = 1, 3 * RATE do
		if out[1][f] ~= ref[1][f] then error(string.format("frame %d: %.6g, crossfaded %.6g (dip)", f - 1, out[1][f], ref[1][f])) end
	end
	check_scene(P, tr, sc, 1.0, 0.003 * RATE, "mix 2")
end)

case("geometry: section take replaced through its section; reversed take refused with a reason", function()
	local dir = T.dir("geom-section")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local tr = P.add_track()
	-- Item properties > Section: plays the file from 0.5 s, the take offset counts from there
	local it = P.add_item(tr, sc.take_path, 1.0, 1.0, 0.1, { B_UISEL = 1 })
	local file_src = it.takes[1].source
	it.takes[1].source = P.make_section(file_src, 0.5, 1.2, false)
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "section take replaced")
	local f0, t0 = RATE, RATE * 6 // 10
	local out = P.render_track(tr, RATE, f0 + RATE, 2)
	local mask = join_mask(sc.truth, function(tf) return f0 + tf - t0 end, 0)
	local checked = check_render(out[1], sc.clean[1], sc.truth, f0, f0 + RATE, function(f) return f - f0 + t0 end, mask, "section")
	T.ok(checked > RATE - 2000, "frames checked " .. checked)
	-- reversed
	local P2 = fresh()
	set_cfg(P2, sc.inbox, "cut")
	local it2 = P2.add_item(P2.add_track(), sc.take_path, 1.0, 1.0, 0, { B_UISEL = 1 })
	it2.takes[1].source = P2.make_section(it2.takes[1].source, 0, 2.0, true)
	run_script(P2, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P2.undo_points, 0, "reversed take not replaced")
	T.contains(P2.mb[1] and P2.mb[1].msg or "", "reversed", "and the user is told why")
end)

case("geometry: a stereo take of a 4-channel clean take plays the pair the marker names (I_CHANMODE 67+)", function()
	local dir = T.dir("geom-pair")
	local clean = { G.noise(11, RATE * 3), G.noise(12, RATE * 3), G.noise(13, RATE * 3), G.noise(14, RATE * 3) }
	local take, truth = G.make_take(clean, 12000, RATE * 2, { frame = 3000, take_id = 808, channel = 2 },
		{ { at = 30000, kind = "dropped", frames = 256 } }, { 3, 4 })
	G.write_wav(dir .. "/Keys-001.wav", RATE, take, "pcm24")
	truth.bits = 24
	local inbox = dir .. "/inbox"
	os.execute('mkdir -p "' .. inbox .. '"')
	G.write_clean(inbox, 808, RATE, clean, 15000)
	local P = fresh()
	set_cfg(P, inbox, "cut")
	local tr = P.add_track()
	P.add_item(tr, dir .. "/Keys-001.wav", 1.0, 2.0, 0, { B_UISEL = 1 })
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced: " .. table.concat(P.console) .. (P.mb[1] and P.mb[1].msg or ""))
	-- a 24-bit recording: the pair alone, in its integers (ghostrec.takeformat), plays as is
	for _, x in ipairs(tr.items) do
		T.ok(x.takes[1].source.filename:match("/ghostrec%-808%-ch2x2%-24bit%-%w+%.wav$"), "stereo pair 3/4: " ..
			x.takes[1].source.filename)
		T.eq(x.takes[1].I_CHANMODE, 0, "stereo pair 3/4 plays as is")
	end
	local out = P.render_track(tr, RATE, RATE * 3, 2)
	local mask = join_mask(truth, function(tf) return RATE + tf end, 0)
	for k = 1, 2 do
		check_render(out[k], clean[k + 2], truth, RATE, RATE * 3, function(f) return f - RATE end, mask, "pair ch" .. k)
	end
end)

---------------------------------------------------------------------------------------------
-- 11. Messages and small things.
---------------------------------------------------------------------------------------------
case("messages: 'Nothing was replaced' says why; a bad file's path once; action names as the Actions list", function()
	local dir = T.dir("msgs")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	local it = P.add_item(P.add_track(), sc.take_path, 0, 2.0, 0, { B_UISEL = 1 })
	P.add_empty_take(it)
	it.cur = 2 -- the active lane is the empty one
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.mb, 1, "one message")
	T.contains(P.mb[1].msg, "Nothing was replaced:", "message")
	T.contains(P.mb[1].msg, "active take lane is empty", "reason")
	-- a corrupt clean file: its name once in the line
	it.cur = 1
	local f = io.open(sc.clean_path, "wb"); f:write("RIFF\0\0\0\0WAVEjunkjunkjunk"); f:close()
	P.mb = {}
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	local m = P.mb[1].msg
	local _, count = m:gsub("ghostrec%-" .. sc.take_id .. "%.wav", "")
	T.eq(count, 1, "clean file named once in: " .. m)
	T.ok(not m:find(sc.inbox, 1, true), "no full path repeated: " .. m)
	-- no inbox set: points at the Settings action by its name in the Actions list
	local P2 = fresh()
	P2.add_item(P2.add_track(), sc.take_path, 0, 2.0, 0, { B_UISEL = 1 })
	run_script(P2, "ghostrec_Replace selected takes with clean recordings.lua")
	T.contains(P2.mb[1].msg, "'Script: ghostrec_Settings.lua'", "action name")
end)

case("messages: an unexpected error is one line without file:line", function()
	local dir = T.dir("err")
	local sc = scenario(dir)
	local P = fresh()
	set_cfg(P, sc.inbox, "cut")
	P.add_item(P.add_track(), sc.take_path, 0, 2.0, 0, { B_UISEL = 1 })
	local real = core.find_take_marker
	core.find_take_marker = function() error("disk went away") end
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	core.find_take_marker = real
	local text = table.concat(P.console)
	T.contains(text, "disk went away", "reason")
	T.ok(not text:find("%.lua:%d+:"), "no file:line: " .. text)
	T.eq(P.script_errors, nil, "no raw script error")
	T.eq(P.reaper.GetExtState("ghostrec", "busy"), "", "lock released")
end)

case("settings action makes no undo point", function()
	local P = fresh()
	P.user_inputs = { "C:\\inbox|cut|5|on" }
	P.launch(SETTINGS)
	settle(P)
	T.eq(#P.undo_points, 0, "undo points")
	T.eq(require("ghostrec.settings").load().join, "cut", "saved")
end)

case("names: only exact clean-take names count (a '-' in ghostrec-<id> is not a pattern)", function()
	fresh()
	local paths = require("ghostrec.paths")
	T.eq(paths.parse_clean_name("ghostrec-1001-ch0.wav"), 1001, "per-channel")
	T.eq(select(2, paths.parse_clean_name("ghostrec-1001-ch3.wav")), 3, "channel")
	T.eq(paths.parse_clean_name("ghostre1001-ch0.wav"), nil, "ghostre1001-ch0.wav")
	T.eq(paths.parse_clean_name("ghostrecc1001.wav"), nil, "ghostrecc1001.wav")
	T.eq(paths.parse_clean_name("ghostrec-1001.wav.part"), nil, "partial copy")
	T.eq(paths.parse_clean_name("ghostrec-1001.wav.reapeaks"), nil, "peaks")
end)

case("takemeta: the sidecar next to a Windows path (backslashes) is found", function()
	local root = T.dir("win-meta")
	local P = fresh({ windows = { drives = { G = root } }, project_path = "G:\\proj" })
	G.write_clean(root, 5, RATE, { G.noise(3, 5000) }, 1234, { lua_writer = true })
	local info = assert(core.open_audio("G:\\ghostrec-5.wav"))
	info.bext_description = nil -- only the sidecar can tell
	local meta = core.clean_metadata(info)
	T.eq(meta.source, "sidecar", "sidecar read")
	T.eq(meta.marker_frame, 1234, "marker frame")
	local m2 = core.clean_meta(info)
	T.eq(m2.source, "sidecar", "clean_meta too")
	T.eq(P.windows, true, "windows mode")
end)

case("project memory: an undone automatic replacement does not come back after a restart", function()
	local dir = T.dir("memory")
	local sc = scenario(dir)
	local P = fresh({ command_id = 4400 })
	set_cfg(P, sc.inbox, "cut")
	P.add_item(P.add_track(), sc.take_path, 0, 2.0, 0)
	P.launch(WATCH)
	for _ = 1, 400 do P.tick(0.2); if #P.undo_points > 0 then break end end
	T.eq(#P.undo_points, 1, "replaced automatically")
	P.terminate()
	-- the user undoes it (the project is back to its recording), saves; REAPER restarts
	local saved = P.projext
	local P2 = fresh({ command_id = 4400, project_path = P.project_path })
	P2.projext = saved
	set_cfg(P2, sc.inbox, "cut")
	-- the delivery is still in the inbox (e.g. copied back), and done/ has it too
	os.execute('cp "' .. sc.inbox .. '/done/ghostrec-' .. sc.take_id .. '.wav" "' .. sc.inbox .. '/"')
	local tr = P2.add_track()
	P2.add_item(tr, sc.take_path, 0, 2.0, 0)
	P2.launch(WATCH)
	ticks(P2, 30, 0.5)
	P2.launch(ALL)
	settle(P2, 2000)
	T.eq(#P2.undo_points, 0, "not replaced again")
	T.eq(tr.items[1].takes[1].source.filename, sc.take_path, "plays the recording")
	P2.terminate()
	-- an explicit request still does it
	tr.items[1].B_UISEL = 1
	run_script(P2, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P2.undo_points, 1, "replaced on request")
end)

---------------------------------------------------------------------------------------------
-- Gaps (docs/contracts.md): frames the clean take does not hold keep the recording.
---------------------------------------------------------------------------------------------
case("gaps: where the clean take holds no audio the recording plays on, cut, not crossfaded", function()
	local dir = T.dir("gaps")
	local sc = scenario(dir, { write_clean = false, glitches = { { at = 20000, kind = "dropped", frames = 256 },
		{ at = 70000, kind = "dropped", frames = 512 } } })
	-- the exporter was down for take frames [50000, 54000): zeros in the clean file, and the
	-- sidecar says they are a gap
	local d = 12000 + 256
	local gap_c, gap_n = 50000 + d, 4000
	local clean = { {}, {} }
	for c = 1, 2 do
		for i, v in ipairs(sc.clean[c]) do clean[c][i] = (i - 1 >= gap_c and i - 1 < gap_c + gap_n) and 0.0 or v end
	end
	G.write_clean(sc.inbox, sc.take_id, RATE, clean, 15000, { lua_writer = true })
	local side = sc.inbox .. "/ghostrec-" .. sc.take_id .. ".json"
	local text = T.read_file(side):gsub("}%s*$", string.format(',"gaps":[{"frame":%d,"frames":%d,"cause":"exporter-down"}]}\n',
		gap_c, gap_n))
	local f = io.open(side, "wb"); f:write(text); f:close()
	local P = fresh()
	set_cfg(P, sc.inbox, "crossfade", 4)
	local tr = P.add_track()
	P.add_item(tr, sc.take_path, 1.0, 2.0, 0, { B_UISEL = 1 })
	run_script(P, "ghostrec_Replace selected takes with clean recordings.lua")
	T.eq(#P.undo_points, 1, "replaced: " .. table.concat(P.console))
	local kinds = {}
	for _, m in ipairs(P.markers) do kinds[#kinds + 1] = m.name:match("^ghostrec: (%a+)") end
	T.contains(table.concat(kinds, ","), "gap", "gap marked")
	local f0 = RATE
	local out = P.render_track(tr, RATE, f0 + 2 * RATE, 2)
	-- inside the gap: REAPER's own recording, exactly
	local ti = assert(core.open_audio(sc.take_path))
	local rd = assert(core.reader(ti))
	local rec = rd:read(50000, gap_n)
	rd:close()
	for i = 0, gap_n - 1 do
		for c = 1, 2 do
			local got, want = out[c][f0 + 50000 + i + 1], rec[i * 2 + c]
			if got ~= want then error(string.format("gap frame %d ch %d: %.9g, recording %.9g", 50000 + i, c, got, want)) end
		end
	end
	-- elsewhere: the pristine audio (the truth's segments, split at the gap)
	local truth = { segments = {}, bits = sc.truth.bits }
	for _, s in ipairs(sc.truth.segments) do
		if s.take_start < 50000 and s.take_end > 50000 then
			truth.segments[#truth.segments + 1] = { take_start = s.take_start, take_end = 50000, clean_start = s.clean_start }
			truth.segments[#truth.segments + 1] = { take_start = 54000, take_end = s.take_end,
				clean_start = s.clean_start + 54000 - s.take_start }
		else
			truth.segments[#truth.segments + 1] = s
		end
	end
	local mask = join_mask(sc.truth, function(tf) return f0 + tf end, 0.002 * RATE)
	for c = 1, 2 do
		check_render(out[c], sc.clean[c], truth, f0, f0 + 2 * RATE, function(f) return f - f0 end, mask, "outside the gap ch" .. c)
	end
end)

return cases
