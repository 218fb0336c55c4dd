-- Lua engine vs the C reference on the shared conform vectors: ghostrec-make-vectors writes
-- take/clean pairs with a known glitch log; ghostrec-sync --report and core.conform_run
-- must give the same report, field for field, and the same one-line error for bad input.
-- Then the replace action runs on each vector inside the REAPER mock (join=cut) and the
-- rendered timeline must equal ghostrec-sync's fixed take at every frame with a clean
-- counterpart (to the take format's LSB: the C side writes the take's format).
local core = require("ghostrec.core")
local T = require("testlib")
local mock = require("reaper_mock")
local G = require("gen")

local build = os.getenv("GHOSTREC_BUILD") or "build"
local MAKE = build .. "/tests/conform/ghostrec-make-vectors"
local SYNC = build .. "/exporter/ghostrec-sync"

local function exists(p)
	local f = io.open(p, "rb")
	if f then f:close() return true end
	return false
end

local function sh(cmd)
	local ok, _, code = os.execute(cmd)
	return ok and 0 or code
end

local cases = {}
local vectors = {}
local dir

cases[#cases + 1] = { "vectors: generate with ghostrec-make-vectors", function()
	if not (exists(MAKE) and exists(SYNC)) then T.skip("C conform tools not built (" .. MAKE .. ")") end
	dir = T.dir("vectors")
	T.eq(sh(string.format('"%s" "%s" >/dev/null', MAKE, dir)), 0, "ghostrec-make-vectors exit")
	local p = io.popen('ls "' .. dir .. '"')
	for name in p:lines() do vectors[#vectors + 1] = name end
	p:close()
	T.ok(#vectors >= 8, "vectors written (" .. #vectors .. ")")
end }

local function truth_of(vdir)
	local t = T.read_file(vdir .. "/truth.json")
	local r = core.parse_report(t)
	r.expect = t:match('"expect"%s*:%s*"(%a+)"')
	return r
end

cases[#cases + 1] = { "vectors: Lua report == ghostrec-sync --report on every vector", function()
	if #vectors == 0 then T.skip("no vectors") end
	for _, name in ipairs(vectors) do
		local v = dir .. "/" .. name
		local truth = truth_of(v)
		local rc = sh(string.format('"%s" --take "%s/take.wav" --clean "%s/clean.wav" -o "%s/out.wav" --join cut --report "%s/report.json" >/dev/null 2>"%s/stderr"',
			SYNC, v, v, v, v, v))
		local ti = assert(core.open_audio(v .. "/take.wav"))
		local ci = assert(core.open_audio(v .. "/clean.wav"))
		local t0 = os.clock()
		local lua, err = core.conform_run(ti, ci, core.clean_meta(ci))
		local dt = os.clock() - t0
		if truth.expect == "ok" then
			T.eq(rc, 0, name .. ": ghostrec-sync exit")
			T.ok(lua, name .. ": Lua engine failed: " .. tostring(err))
			local c = core.parse_report(T.read_file(v .. "/report.json"))
			T.eq(core.report_json(lua), core.report_json(c), name .. ": Lua vs C report")
			T.same_glitches(lua.glitches, truth.glitches, name .. ": glitches vs truth")
			T.eq(lua.clean_channel, truth.clean_channel, name .. ": clean channel vs truth")
		else
			T.ok(rc ~= 0, name .. ": ghostrec-sync accepted bad input")
			T.eq(lua, nil, name .. ": Lua accepted bad input")
			local line = T.read_file(v .. "/stderr"):gsub("\r[^\n]*\r", ""):match("([^\n]*)\n?$")
			T.eq("ghostrec-sync: " .. err, line, name .. ": error line")
		end
		print(string.format("     %-28s %-5s %d glitches, Lua %.2fs", name, truth.expect, #truth.glitches, dt))
	end
end }

-- Sliced for REAPER's UI thread: conform_run inside a coroutine with opt.yield =
-- coroutine.yield gives the same report as one call, and does yield (the longest slice is
-- printed, not asserted: the slice meter of the REAPER mock is the judge of time).
cases[#cases + 1] = { "vectors: conform_run sliced with opt.yield == one call", function()
	if #vectors == 0 then T.skip("no vectors") end
	local longest, total_yields = 0, 0
	local sliced = { ["punch-in-no-marker"] = true, ["gap-long-float-stereo"] = true,
		["repeat-swap-pcm24-mono"] = true, ["mixed-pcm24-96k"] = true }
	for _, name in ipairs(vectors) do
		local v = dir .. "/" .. name
		if sliced[name] and truth_of(v).expect == "ok" then
			local ti = assert(core.open_audio(v .. "/take.wav"))
			local ci = assert(core.open_audio(v .. "/clean.wav"))
			local whole = assert(core.conform_run(ti, ci, core.clean_meta(ci)))
			local co = coroutine.create(function()
				return core.conform_run(ti, ci, core.clean_meta(ci), { yield = coroutine.yield })
			end)
			local yields, res = 0, nil
			while true do
				local t0 = os.clock()
				local ok, r = coroutine.resume(co)
				local dt = os.clock() - t0
				if dt > longest then longest = dt end
				T.ok(ok, name .. ": sliced run raised: " .. tostring(r))
				if coroutine.status(co) == "dead" then res = r break end
				yields = yields + 1
			end
			T.eq(core.report_json(res), core.report_json(whole), name .. ": sliced report")
			T.ok(yields > 0, name .. ": yielded")
			total_yields = total_yields + yields
		end
	end
	print(string.format("     %d yields, longest slice %.1f ms (os.clock)", total_yields, longest * 1000))
end }

-- The gap regions make-vectors.c wrote into the clean files (cue + ltxt + labl
-- "ghostrec-gap:CAUSE"), as the Lua reader sees them.
cases[#cases + 1] = { "vectors: clean-file gap regions read by the Lua side as written", function()
	if #vectors == 0 then T.skip("no vectors") end
	local want = {
		["gap-short-pcm24-mono"] = { { 144000, 4800, "exporter-down" } },
		["gap-long-float-stereo"] = { { 144000, 144000, "ring-overrun" } },
		["gap-head-pcm16-mono"] = { { 22050, 30870, "node-gone" }, { 176400, 8000, "disk-full" } },
	}
	local seen = 0
	for _, name in ipairs(vectors) do
		local meta = core.clean_meta(assert(core.open_audio(dir .. "/" .. name .. "/clean.wav")))
		local w = want[name] or {}
		T.eq(#meta.gaps, #w, name .. ": gaps")
		for i, g in ipairs(w) do
			T.eq(meta.gaps[i].frame, g[1], name .. ": gap frame")
			T.eq(meta.gaps[i].frames, g[2], name .. ": gap frames")
			T.eq(meta.gaps[i].cause, g[3], name .. ": gap cause")
		end
		if want[name] then seen = seen + 1 end
	end
	T.eq(seen, 3, "gap vectors present")
end }

-- A take built by the Lua generator (independent of make-vectors.c) from `written`
-- (take-frame glitch list), marker at take frame 2000: ghostrec-sync --report and the Lua
-- engine must agree, and every take frame in a segment (outside the marker and the
-- replaced runs) must be the clean frame it is mapped to. Returns the Lua report and how
-- many frames that check covered.
local function generated_take(name, frames, written)
	local dir = T.dir(name)
	local rate = 48000
	local clean_from, marker_at = 5000, 2000
	local clean = {}
	for c = 1, 2 do clean[c] = G.noise(300 + c, clean_from + frames + 4096, 0.5) end
	local take = G.make_take(clean, clean_from, frames, { frame = marker_at, take_id = 9, channel = 0 }, written, { 1, 2 })
	G.write_wav(dir .. "/take.wav", rate, take, "pcm24")
	local clean_path = G.write_clean(dir, 9, rate, clean, clean_from + marker_at)
	local rc = sh(string.format('"%s" --take "%s/take.wav" --clean "%s" -o "%s/out.wav" --join cut --report "%s/report.json" >/dev/null',
		SYNC, dir, clean_path, dir, dir))
	T.eq(rc, 0, "ghostrec-sync exit")
	local c = core.parse_report(T.read_file(dir .. "/report.json"))
	local ti = assert(core.open_audio(dir .. "/take.wav"))
	local ci = assert(core.open_audio(clean_path))
	local lua = assert(core.conform_run(ti, ci, core.clean_meta(ci)))
	T.eq(core.report_json(lua), core.report_json(c), "Lua vs C report")
	T.eq(lua.alignment, "marker", "alignment")
	local tol = 2 / (1 << 23)
	local function replaced(t)
		for _, g in ipairs(lua.glitches) do
			if g.kind == "replaced" and t >= g.take_frame and t < g.take_frame + g.frames then return true end
		end
		return false
	end
	local checked = 0
	for _, sg in ipairs(lua.segments) do
		for t = sg.take_start, sg.take_end - 1 do
			if (t < marker_at or t >= marker_at + core.MARKER_FRAMES) and not replaced(t) then
				local cf = t + sg.clean_start - sg.take_start
				for k = 1, 2 do
					if math.abs(take[k][t + 1] - clean[k][cf + 1]) > tol then
						error(string.format("take frame %d ch %d mapped to clean %d: %.9g vs %.9g", t, k, cf,
							take[k][t + 1], clean[k][cf + 1]))
					end
				end
				checked = checked + 1
			end
		end
	end
	return lua, checked
end

-- Glitches back to back, built by the Lua generator (independent of make-vectors.c): an
-- insertion next to a drop, silence next to a drop or an insertion, and a pair undone by
-- an insertion shortly after. Such pairs have more than one description; the expected list
-- is the engine's (tests/conform/glitchsim.h, gs_canonical_pairs): frames before the join
-- stay on the old offset as replaced, the net shift is the drop or insertion after them.
cases[#cases + 1] = { "vectors: glitches back to back, Lua == ghostrec-sync --report == canonical truth", function()
	if not exists(SYNC) then T.skip("ghostrec-sync not built (" .. SYNC .. ")") end
	local rate = 48000
	local A = function(k) return rate * k end
	local written = {
		{ at = A(1), kind = "inserted", frames = 256 }, { at = A(1) + 256, kind = "dropped", frames = 512 },
		{ at = A(2), kind = "inserted", frames = 512 }, { at = A(2) + 512, kind = "dropped", frames = 256 },
		{ at = A(3), kind = "inserted", frames = 256 }, { at = A(3) + 256, kind = "dropped", frames = 256 },
		{ at = A(4), kind = "replaced", frames = 256 }, { at = A(4) + 256, kind = "dropped", frames = 512 },
		{ at = A(5), kind = "replaced", frames = 128 }, { at = A(5) + 128, kind = "inserted", frames = 256 },
		{ at = A(6), kind = "dropped", frames = 256 }, { at = A(6), kind = "replaced", frames = 256 },
		-- the pair's net drop undone 2000 frames later: not one long replaced run
		{ at = A(7), kind = "inserted", frames = 256 }, { at = A(7) + 256, kind = "dropped", frames = 512 },
		{ at = A(7) + 2000, kind = "inserted", frames = 256 },
		-- silence + drop shifting the offset, undone 0.3 s and 0.6 s later by insertions: the
		-- old offset lines up again only 45000 frames after the first bad frame
		{ at = A(8), kind = "replaced", frames = 1024 }, { at = A(8) + 1024, kind = "dropped", frames = 512 },
		{ at = A(8) + 1024 + 14400, kind = "inserted", frames = 256 },
		{ at = A(8) + 1024 + 14400 + 256 + 28800, kind = "inserted", frames = 256 },
	}
	local expected = {
		{ take_frame = A(1), kind = "replaced", frames = 256 }, { take_frame = A(1) + 256, kind = "dropped", frames = 256 },
		{ take_frame = A(2), kind = "replaced", frames = 256 }, { take_frame = A(2) + 256, kind = "inserted", frames = 256 },
		{ take_frame = A(3), kind = "replaced", frames = 256 },
		{ take_frame = A(4), kind = "replaced", frames = 256 }, { take_frame = A(4) + 256, kind = "dropped", frames = 512 },
		{ take_frame = A(5), kind = "replaced", frames = 128 }, { take_frame = A(5) + 128, kind = "inserted", frames = 256 },
		{ take_frame = A(6), kind = "replaced", frames = 256 }, { take_frame = A(6) + 256, kind = "dropped", frames = 256 },
		{ take_frame = A(7), kind = "replaced", frames = 256 }, { take_frame = A(7) + 256, kind = "dropped", frames = 256 },
		{ take_frame = A(7) + 2000, kind = "inserted", frames = 256 },
		{ take_frame = A(8), kind = "replaced", frames = 1024 }, { take_frame = A(8) + 1024, kind = "dropped", frames = 512 },
		{ take_frame = A(8) + 1024 + 14400, kind = "inserted", frames = 256 },
		{ take_frame = A(8) + 1024 + 14400 + 256 + 28800, kind = "inserted", frames = 256 },
	}
	local frames = rate * 9 + 4000
	local lua, checked = generated_take("b2b", frames, written)
	T.same_glitches(lua.glitches, expected, "glitches vs canonical truth")
	-- all but the replaced and inserted frames and the marker
	T.eq(checked, frames - (256 * 6 + 128 + 1024) - 256 * 5 - core.MARKER_FRAMES, "frames checked")
end }

-- Replaced runs shorter than the walk's check step (16 frames) fall between its
-- checkpoints; the verification pass after the walk (verify_segments) reports them.
cases[#cases + 1] = { "vectors: replaced runs shorter than the check step, Lua == ghostrec-sync --report == truth", function()
	if not exists(SYNC) then T.skip("ghostrec-sync not built (" .. SYNC .. ")") end
	local written, expected, n_replaced = {}, {}, 0
	local at = 10000
	for len = 1, 15 do
		written[#written + 1] = { at = at, kind = "replaced", frames = len }
		expected[#expected + 1] = { take_frame = at, kind = "replaced", frames = len }
		n_replaced = n_replaced + len
		at = at + 3001 + 7 * len
	end
	-- a drop among them, so a second segment is checked too
	written[#written + 1] = { at = at, kind = "dropped", frames = 300 }
	expected[#expected + 1] = { take_frame = at, kind = "dropped", frames = 300 }
	for len = 2, 6, 2 do
		at = at + 2500 + len
		written[#written + 1] = { at = at, kind = "replaced", frames = len }
		expected[#expected + 1] = { take_frame = at, kind = "replaced", frames = len }
		n_replaced = n_replaced + len
	end
	local frames = 96000
	local lua, checked = generated_take("short-runs", frames, written)
	T.same_glitches(lua.glitches, expected, "glitches vs truth")
	T.eq(checked, frames - n_replaced - core.MARKER_FRAMES, "frames checked")
end }

-- The block compare's fast tests (take samples paired into one 32/48-bit integer, a sample
-- within the tolerance passed without the exact test) must never pass a frame the exact
-- test fails: takes whose samples sit at the tolerance's edge (2 LSB, a hair inside and
-- outside it, either sample of a pair, both signs, NaN/inf/huge clean values), 16/24-bit,
-- mono/stereo, a channel subset of the clean file. Lua == ghostrec-sync --report, and every
-- take frame in a segment is either within the tolerance of its clean frame or in a
-- replaced glitch, and every frame in a segment outside the tolerance is in one.
cases[#cases + 1] = { "vectors: block compare at the tolerance's edge, Lua == ghostrec-sync --report == frame by frame", function()
	local layouts = {
		{ bits = 24, tch = 2, cch = 2, ch0 = 0 }, { bits = 24, tch = 1, cch = 1, ch0 = 0 },
		{ bits = 24, tch = 1, cch = 2, ch0 = 1 }, { bits = 16, tch = 2, cch = 2, ch0 = 0 },
		{ bits = 16, tch = 1, cch = 1, ch0 = 0 }, { bits = 24, tch = 2, cch = 3, ch0 = 1 },
	}
	local edge = { 2, -2, 2 + 2 ^ -20, -2 - 2 ^ -20, 2 - 2 ^ -20, -2 + 2 ^ -20, 1.5, -1.5, 1.5 + 2 ^ -20,
		-1.5 - 2 ^ -20, 1.5 - 2 ^ -20, 0.5, -0.5, 1, -1, 2.5, -2.5, 3, -3 }
	local odd = { 0 / 0, 1 / 0, -1 / 0, 1e30, -3.5 }
	local s = 12345
	local function rnd() -- deterministic, [0, 1)
		s = (s * 1103515245 + 12345) & 0x7fffffff
		return s / 0x80000000
	end
	local frames, off = 40000, 1500
	for li, L in ipairs(layouts) do
		local dir = T.dir("edge-" .. li)
		local full = 2.0 ^ (L.bits - 1)
		local hi, lo = full - 1, -full
		local clean = {}
		for c = 1, L.cch do clean[c] = G.noise(700 + 10 * li + c, frames + 2 * off, 0.4) end
		local take = {}
		for k = 1, L.tch do
			local col, src = {}, clean[L.ch0 + k]
			for f = 1, frames do
				local y = src[off + f]
				local t = math.floor(y * full + 0.5)
				local r = rnd()
				if r < 0.02 then
					-- the clean sample moved so that t - y * 2^(n-1) is at (or near) an edge;
					-- small t keep the tiny offsets exact in float32
					if rnd() < 0.5 then t = math.floor((rnd() - 0.5) * 64) end
					local d = edge[1 + math.floor(rnd() * #edge)]
					if rnd() < 0.3 then d = (rnd() - 0.5) * 6 end
					src[off + f] = core.fround((t - d) / full)
				elseif r < 0.0022 + 0.02 then
					src[off + f] = odd[1 + math.floor(rnd() * #odd)]
				end
				if t > hi then t = hi elseif t < lo then t = lo end
				col[f] = t / full
			end
			take[k] = col
		end
		G.write_wav(dir .. "/take.wav", 48000, take, L.bits == 16 and "pcm16" or "pcm24")
		G.write_wav(dir .. "/clean.wav", 48000, clean, "float32")
		local ti = assert(core.open_audio(dir .. "/take.wav"))
		local ci = assert(core.open_audio(dir .. "/clean.wav"))
		local lua = assert(core.conform_run(ti, ci, core.clean_meta(ci)))
		local what = string.format("%d-bit x%d vs float x%d from %d", L.bits, L.tch, L.cch, L.ch0)
		if exists(SYNC) then
			T.eq(sh(string.format('"%s" --take "%s/take.wav" --clean "%s/clean.wav" -o "%s/out.wav" --join cut --report "%s/report.json" >/dev/null',
				SYNC, dir, dir, dir, dir)), 0, what .. ": ghostrec-sync exit")
			T.eq(core.report_json(lua), core.report_json(core.parse_report(T.read_file(dir .. "/report.json"))),
				what .. ": Lua vs C report")
		end
		T.eq(lua.clean_channel, L.ch0, what .. ": clean channel")
		local tol = core.conform_tolerance(ti, ci)
		local in_replaced = {}
		for _, g in ipairs(lua.glitches) do
			if g.kind == "replaced" then
				for t = g.take_frame, g.take_frame + g.frames - 1 do in_replaced[t] = true end
			end
		end
		local differing, covered = 0, 0
		for _, sg in ipairs(lua.segments) do
			for t = sg.take_start, sg.take_end - 1 do
				local cf = t + sg.clean_start - sg.take_start
				local bad = false
				for k = 1, L.tch do
					if not (math.abs(take[k][t + 1] - clean[L.ch0 + k][cf + 1]) <= tol) then bad = true end
				end
				if bad then
					differing = differing + 1
					if not in_replaced[t] then
						error(string.format("%s: take frame %d (clean %d) outside the tolerance, in no replaced glitch", what, t, cf))
					end
				end
				covered = covered + 1
			end
		end
		T.ok(covered > frames * 0.8, what .. ": frames in segments (" .. covered .. ")")
		T.ok(differing > 100, what .. ": frames outside the tolerance (" .. differing .. ")")
	end
end }

for _, join in ipairs({ "cut", "crossfade" }) do
cases[#cases + 1] = { "vectors: replace action (join=" .. join .. ") in the REAPER mock == ghostrec-sync render", function()
	if #vectors == 0 then T.skip("no vectors") end
	for _, name in ipairs(vectors) do
		local v = dir .. "/" .. name
		local truth = truth_of(v)
		if truth.expect == "ok" then
			local c = core.parse_report(T.read_file(v .. "/report.json"))
			local inbox = v .. "/inbox"
			os.execute('mkdir -p "' .. inbox .. '"')
			local id = truth.take_id or 1
			os.execute(string.format('ln -sf ../clean.wav "%s/ghostrec-%d.wav"', inbox, id))
			local P = mock.new()
			_G.reaper = P.reaper
			for _, m in ipairs({ "ghostrec.replace", "ghostrec.settings" }) do package.loaded[m] = nil end
			local replace = require("ghostrec.replace")
			P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
			P.reaper.SetExtState("ghostrec", "join", join, true)
			P.reaper.SetExtState("ghostrec", "xfade_ms", "5", true)
			local ti = assert(core.open_audio(v .. "/take.wav"))
			local tr = P.add_track()
			local pos = 1.0
			P.add_item(tr, v .. "/take.wav", pos, ti.frames / ti.rate, 0, { B_UISEL = 1 })
			T.eq(replace.run_selected(), 1, name .. ": replaced")
			T.eq(#P.undo_points, 1, name .. ": undo points")
			local f0 = math.floor(pos * ti.rate + 0.5)
			local out = P.render_track(tr, ti.rate, f0 + ti.frames, ti.channels)
			local oi = assert(core.open_audio(v .. "/out.wav"))
			local rd = assert(core.reader(oi))
			local fixed = rd:read(0, oi.frames)
			rd:close()
			local lsb = ti.float and 0 or 1 / (1 << (ti.bits - 1))
			-- With crossfades, frames within half a crossfade of a join are a blend.
			local half = (join == "crossfade") and math.ceil(0.0025 * ti.rate) + 1 or 0
			local checked = 0
			for i, s in ipairs(c.segments) do
				local from = s.take_start + ((i > 1) and half or 0)
				local to = s.take_end - ((i < #c.segments) and half or 0)
				for tf = from, to - 1 do
					for k = 1, ti.channels do
						local got, want = out[k][f0 + tf + 1], fixed[tf * ti.channels + k]
						if math.abs(got - want) > lsb * 1.0001 then
							error(string.format("%s: take frame %d ch %d: mock timeline %.9g, ghostrec-sync %.9g", name, tf, k, got, want))
						end
						checked = checked + 1
					end
				end
			end
			-- gap frames are in no segment (they keep the take's own audio)
			local gap_frames = 0
			for _, g in ipairs(c.glitches) do
				if g.kind == "gap" then gap_frames = gap_frames + g.frames end
			end
			T.ok(checked > (ti.frames - gap_frames) * ti.channels * 0.85, name .. ": frames checked")
			-- markers at every glitch, at the glitch's timeline position
			T.eq(#P.markers, #c.glitches, name .. ": glitch markers")
			for i, g in ipairs(c.glitches) do
				T.near(P.markers[i].pos, pos + g.take_frame / ti.rate, 1e-9, name .. ": marker position")
			end
		end
	end
end }
end

return cases
