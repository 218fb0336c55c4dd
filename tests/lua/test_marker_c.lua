-- The Lua marker decoder against the C codec (common/marker.c through
-- ghostrec-marker-probe) on a few hundred files made to sit on the decoder's edges:
-- amplitudes at the limits, deviations right at the tolerance, corrupted symbols, markers
-- cut off by the end of the file, several markers, markers on one channel only.
local core = require("ghostrec.core")
local G = require("gen")
local T = require("testlib")

local build = os.getenv("GHOSTREC_BUILD") or "build"
local PROBE = build .. "/tests/lua/ghostrec-marker-probe"

local cases = {}
cases[#cases + 1] = { "marker: Lua decoder == C decoder on edge-case files", function()
	local f = io.open(PROBE, "rb")
	if not f then T.skip("ghostrec-marker-probe not built") end
	f:close()
	local dir = T.dir("marker-c")
	math.randomseed(20261121)
	local fmts = { "pcm16", "pcm24", "float32" }
	local tols = { pcm16 = 1 / 16384, pcm24 = 1 / 4194304, float32 = 1 / 65536 / 256 }
	local files = {}
	for i = 1, 240 do
		local fmt = fmts[i % 3 + 1]
		local nch = (i % 4 == 0) and 2 or 1
		local n = 400 + math.random(0, 200)
		local chans = {}
		for c = 1, nch do
			chans[c] = {}
			for k = 1, n do chans[c][k] = (math.random() - 0.5) * 0.02 end
		end
		local amps = { 0.25, 1 / 256, 1 / 256 - tols[fmt], 1 / 256 + tols[fmt], 1.0, 0.999, 0.5 + math.random() * 0.4 }
		local amp = amps[i % #amps + 1]
		local id = math.random(0, 0xffffffff)
		local ch_idx = math.random(0, 255)
		local at = math.random(0, 250)
		local sym = core.marker_symbols(id, ch_idx)
		local target = (nch == 2 and i % 8 == 0) and 2 or 1
		local kind = i % 6
		for k = 0, core.MARKER_FRAMES - 1 do
			if at + k < n then
				local v = amp * sym[k]
				if kind == 1 then
					-- deviations around the tolerance (in sample units of the format)
					local q = tols[fmt] * ({ 0.5, 0.99, 1.0, 1.01, 2 })[math.random(1, 5)]
					v = v + (math.random() < 0.5 and -q or q) * (math.random() < 0.3 and 1 or 0)
				elseif kind == 2 and k == 40 + (i % 60) then
					v = -v -- one flipped symbol
				elseif kind == 3 and k == 50 + (i % 50) then
					v = 0 -- one zeroed symbol
				end
				chans[target][at + k + 1] = v
			end
		end
		if kind == 4 and at + 2 * core.MARKER_FRAMES < n then
			-- a second marker later: the first one wins
			local sym2 = core.marker_symbols(id ~ 0x5a5a, ch_idx)
			for k = 0, core.MARKER_FRAMES - 1 do chans[target][at + core.MARKER_FRAMES + k + 1] = 0.25 * sym2[k] end
		end
		if kind == 5 then
			-- file ends inside the marker
			local cut = at + core.MARKER_FRAMES - math.random(1, 20)
			for c = 1, nch do for k = cut + 1, n do chans[c][k] = nil end end
		end
		local path = string.format("%s/m%03d.wav", dir, i)
		G.write_wav(path, 48000, chans, fmt)
		files[#files + 1] = path
	end
	local p = assert(io.popen('"' .. PROBE .. '" "' .. table.concat(files, '" "') .. '"'))
	local found, agree = 0, 0
	for i, path in ipairs(files) do
		local line = p:read("l")
		local m = core.find_take_marker(assert(core.open_audio(path)), 1e9)
		local lua = m and string.format("%d %d %d %d", m.take_id, m.channel, m.frame, m.take_channel) or "none"
		T.eq(lua, line, "file " .. i .. " (" .. path .. ")")
		if m then found = found + 1 end
		agree = agree + 1
	end
	p:close()
	T.ok(found > 60 and found < agree, string.format("a mix of found (%d) and rejected markers", found))
	print(string.format("     %d files: %d markers found, %d rejected, all as the C decoder", agree, found, agree - found))
end }

return cases
