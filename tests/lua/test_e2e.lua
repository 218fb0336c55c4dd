-- The REAPER side on files from the real chain (e2e-reaper.sh sets E2E_*): Lua report ==
-- ghostrec-sync's, and the replace action's rendered timeline == ghostrec-sync's fixed take.
local core = require("ghostrec.core")
local T = require("testlib")
local mock = require("reaper_mock")

local take, clean, inbox = os.getenv("E2E_TAKE"), os.getenv("E2E_CLEAN"), os.getenv("E2E_INBOX")
local report, fixed = os.getenv("E2E_REPORT"), os.getenv("E2E_FIXED")

local cases = {}
cases[#cases + 1] = { "e2e: Lua conform == ghostrec-sync on the relay emulator's take", function()
	if not take then T.skip("run through e2e-reaper.sh") end
	local ti, ci = assert(core.open_audio(take)), assert(core.open_audio(clean))
	local c = core.parse_report(T.read_file(report))
	local lua = assert(core.conform_run(ti, ci, core.clean_meta(ci)))
	T.eq(core.report_json(lua), core.report_json(c), "Lua vs C report")
	T.ok(#lua.glitches > 0, "the relay damaged the take")
	local expected = os.getenv("E2E_EXPECTED")
	if expected and expected ~= "" then
		-- the emulator's true log: {"take_frame","kind","frames"} objects
		local truth = core.parse_report(T.read_file(expected))
		T.same_glitches(lua.glitches, truth.glitches, "Lua glitches vs the relay's true log")
	end
	print(string.format("     %d glitches, alignment %s, take %s", #lua.glitches, lua.alignment, tostring(lua.take_id)))
end }

cases[#cases + 1] = { "e2e: replace action on the REAPER take == ghostrec-sync's fixed take", function()
	if not take then T.skip("run through e2e-reaper.sh") end
	local P = mock.new()
	_G.reaper = P.reaper
	local replace = require("ghostrec.replace")
	P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
	P.reaper.SetExtState("ghostrec", "join", "cut", true)
	local ti = assert(core.open_audio(take))
	local before = T.read_file(take)
	local tr = P.add_track()
	local pos = 3.0
	P.add_item(tr, take, pos, ti.frames / ti.rate, 0, { B_UISEL = 1 })
	T.eq(replace.run_selected(), 1, "replaced")
	T.eq(#P.undo_points, 1, "one undo point")
	T.eq(T.read_file(take), before, "REAPER's take untouched")
	local c = core.parse_report(T.read_file(report))
	T.eq(#P.markers, #c.glitches, "a marker per glitch")
	local f0 = math.floor(pos * ti.rate + 0.5)
	local out = P.render_track(tr, ti.rate, f0 + ti.frames, ti.channels)
	local oi = assert(core.open_audio(fixed))
	local rd = assert(core.reader(oi))
	local want = rd:read(0, oi.frames)
	rd:close()
	local lsb = ti.float and 0 or 1 / (1 << (ti.bits - 1))
	local checked = 0
	for _, s in ipairs(c.segments) do
		for tf = s.take_start, s.take_end - 1 do
			for k = 1, ti.channels do
				local got, w = out[k][f0 + tf + 1], want[tf * ti.channels + k]
				if math.abs(got - w) > lsb * 1.0001 then
					error(string.format("take frame %d ch %d: REAPER timeline %.9g, ghostrec-sync %.9g", tf, k, got, w))
				end
				checked = checked + 1
			end
		end
	end
	T.ok(checked > ti.frames * ti.channels * 0.9, "frames checked " .. checked)
end }

return cases
