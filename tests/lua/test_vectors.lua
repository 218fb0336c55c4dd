-- Lua engine vs the C reference on the shared conform vectors: ghostrec-make-vectors writes
-- take/clean pairs with a known glitch log; ghostrec-sync --report and core.conform_run
-- must give the same report, field for field, and the same one-line error for bad input.
-- Then the replace action runs on each vector inside the REAPER mock (join=cut) and the
-- rendered timeline must equal ghostrec-sync's fixed take at every frame with a clean
-- counterpart (to the take format's LSB: the C side writes the take's format).
local core = require("ghostrec.core")
local T = require("testlib")
local mock = require("reaper_mock")

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
			T.ok(checked > ti.frames * ti.channels * 0.85, name .. ": frames checked")
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
