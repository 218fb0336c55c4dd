-- Null tests, Lua side: 16- and 24-bit takes whose integers were written with either common
-- scaling (x 2^(n-1), x (2^(n-1) - 1)), mono and stereo (the shared vectors null-*, made by
-- ghostrec-make-vectors with the material of test-conform's null cases). The replace action
-- runs in the REAPER mock (join=cut) and REAPER's timeline must equal the take bit for bit
-- at every frame REAPER recorded undamaged (truth.json "damaged" lists the others), and
-- ghostrec-sync's fixed take at every frame of a segment (repaired frames use the take's
-- convention too). ghostrec-sync's OUT is null-tested on the same vectors.
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
local names = {}
local dir

-- Damaged take frames from truth.json: a per-frame lookup.
local function damaged_of(truth_text)
	local list = truth_text:match('"damaged"%s*:%s*(%b[])')
	assert(list, "truth.json has no damaged list")
	local runs = {}
	for a, b in list:gmatch("%[%s*(%d+)%s*,%s*(%d+)%s*%]") do runs[#runs + 1] = { tonumber(a), tonumber(b) } end
	return function(t)
		for _, r in ipairs(runs) do
			if t >= r[1] and t < r[2] then return true end
		end
		return false
	end, runs
end

-- All samples of a file, interleaved (1-based).
local function samples(path)
	local info = assert(core.open_audio(path))
	local rd = assert(core.reader(info))
	local s = rd:read(0, info.frames)
	rd:close()
	return s, info
end

cases[#cases + 1] = { "null: generate the null vectors with ghostrec-make-vectors", function()
	if not (exists(MAKE) and exists(SYNC)) then T.skip("C conform tools not built (" .. MAKE .. ")") end
	dir = T.dir("null-vectors")
	T.eq(sh(string.format('"%s" "%s" >/dev/null', MAKE, dir)), 0, "ghostrec-make-vectors exit")
	local p = io.popen('ls "' .. dir .. '"')
	for name in p:lines() do
		if name:match("^null%-") then names[#names + 1] = name end
	end
	p:close()
	T.eq(#names, 8, "null vectors: 16/24-bit x mono/stereo x two conventions")
end }

-- The conventions themselves, on values where they disagree (hand-computed).
cases[#cases + 1] = { "null: integer conventions (x 2^(n-1), x (2^(n-1)-1), libsndfile's)", function()
	local x = 0.75 + 0.5 / 32768 -- 24576.5 at x 2^15, 24575.75 at x 32767
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, x), 24576, "pow2, half to even")
	T.eq(core.convert(core.CONV_ROUND_POW2M1, 16, x), 24576, "pow2m1")
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, -x), -24576, "pow2, negative")
	T.eq(core.convert(core.CONV_ROUND_POW2M1, 16, 0.5), 16384, "pow2m1 of 0.5 (16383.5, to even)")
	T.eq(core.convert(core.CONV_ROUND_POW2M1, 24, 0.5), 4194304, "pow2m1 of 0.5 (4194303.5, to even)")
	T.eq(core.convert(core.CONV_ROUND_POW2M1, 24, 0.25), 2097152, "pow2m1 of 0.25 (2097151.75)")
	T.eq(core.convert(core.CONV_ROUND_POW2, 24, 0.25), 2097152, "pow2 of 0.25")
	T.eq(core.convert(core.CONV_ROUND_POW2M1, 24, 0.9), 7549746, "pow2m1 of 0.9 (7549746.3)")
	T.eq(core.convert(core.CONV_ROUND_POW2, 24, 0.9), 7549747, "pow2 of 0.9 (7549747.2)")
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, 1.0), 32767, "pow2 clips at full scale")
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, -1.0), -32768, "pow2 of -1")
	T.eq(core.convert(core.CONV_SNDFILE_CLIP, 16, 1.0), 32767, "libsndfile clips")
	T.eq(core.convert(core.CONV_SNDFILE_CLIP, 16, -1.0), -32768, "libsndfile of -1")
	-- libsndfile (clipping) rounds x 2^31 and shifts: floor of the 16-bit value
	T.eq(core.convert(core.CONV_SNDFILE_CLIP, 16, x), 24576, "libsndfile, 24576.5 -> 24576")
	T.eq(core.convert(core.CONV_SNDFILE_CLIP, 16, -0.1), -3277, "libsndfile, -3276.8 -> -3277 (floor)")
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, -0.1), -3277, "pow2, -3276.8 -> -3277")
	T.eq(core.convert(core.CONV_SNDFILE_CLIP, 16, 0.1), 3276, "libsndfile, 3276.8 -> 3276 (floor)")
	T.eq(core.convert(core.CONV_ROUND_POW2, 16, 0.1), 3277, "pow2, 3276.8 -> 3277")
	T.ok(core.file_name(7, 1, 1, 24, core.CONV_ROUND_POW2M1):match("^ghostrec%-7%-ch1x1%-24bit%-pow2m1%.wav$"), "file name")
	local paths = require("ghostrec.paths")
	T.ok(paths.is_clean_file("/p/ghostrec-7-ch1x1-24bit-pow2m1.wav"), "its file counts as a clean file")
	T.eq(select(3, paths.parse_clean_name("ghostrec-7-ch0x2-16bit-pow2.wav")), "takeformat", "kind")
end }

-- Counts samples of `got` (per take frame t, channel k) that differ from `want` at the
-- frames `which` selects. got/want(t, k) -> sample.
local function count_differ(frames, channels, which, got, want)
	local differ, checked = 0, 0
	for t = 0, frames - 1 do
		if which(t) then
			for k = 1, channels do
				if got(t, k) ~= want(t, k) then differ = differ + 1 end
				checked = checked + 1
			end
		end
	end
	return differ, checked
end

cases[#cases + 1] = { "null: replaced take in the REAPER mock == the take at every undamaged frame (and == ghostrec-sync OUT)", function()
	if #names == 0 then T.skip("no vectors") end
	for _, name in ipairs(names) do
		local v = dir .. "/" .. name
		local truth_text = T.read_file(v .. "/truth.json")
		local is_damaged = damaged_of(truth_text)
		local take_id = tonumber(truth_text:match('"take_id"%s*:%s*(%d+)'))
		T.eq(sh(string.format('"%s" --take "%s/take.wav" --clean "%s/clean.wav" -o "%s/out.wav" --join cut --report "%s/report.json" >/dev/null',
			SYNC, v, v, v, v)), 0, name .. ": ghostrec-sync exit")
		local ti = assert(core.open_audio(v .. "/take.wav"))
		local ci = assert(core.open_audio(v .. "/clean.wav"))
		local c_report = core.parse_report(T.read_file(v .. "/report.json"))
		local lua = assert(core.conform_run(ti, ci, core.clean_meta(ci)))
		T.eq(core.report_json(lua), core.report_json(c_report), name .. ": Lua vs C report")
		local conv = core.learn_convention(lua, ti, ci)
		local want_conv = name:match("pow2m1$") and core.CONV_ROUND_POW2M1 or core.CONV_ROUND_POW2
		T.eq(conv, want_conv, name .. ": learned convention")

		local take = samples(v .. "/take.wav")
		local out = samples(v .. "/out.wav")
		local ch = ti.channels
		local undamaged = function(t) return not is_damaged(t) end
		local function take_at(t, k) return take[t * ch + k] end

		-- ghostrec-sync's OUT nulls against the take.
		local c_differ, checked = count_differ(ti.frames, ch, undamaged, function(t, k) return out[t * ch + k] end, take_at)
		T.eq(c_differ, 0, name .. ": ghostrec-sync OUT samples differing from the take at undamaged frames")
		T.ok(checked > ti.frames * ch * 0.99, name .. ": undamaged samples checked (" .. checked .. ")")

		-- What REAPER played before: the float clean file through the segments. It does not
		-- null (the test can tell), nor does the clean audio in the other convention.
		local clean = samples(v .. "/clean.wav")
		local seg_d = {}
		for _, s in ipairs(lua.segments) do
			for t = s.take_start, s.take_end - 1 do seg_d[t] = s.clean_start - s.take_start end
		end
		local function in_segment(t) return seg_d[t] ~= nil end
		local function float_clean(t, k) return clean[(t + seg_d[t]) * ci.channels + lua.clean_channel + k] end
		local float_differ = count_differ(ti.frames, ch, function(t) return undamaged(t) and in_segment(t) end,
			float_clean, take_at)
		T.ok(float_differ > checked // 4, name .. ": the float clean source differs from the take (" .. float_differ .. ")")
		local other = conv == core.CONV_ROUND_POW2 and core.CONV_ROUND_POW2M1 or core.CONV_ROUND_POW2
		local scale = 1 << (ti.bits - 1)
		local other_differ = count_differ(ti.frames, ch, function(t) return undamaged(t) and in_segment(t) end,
			function(t, k) return core.convert(other, ti.bits, float_clean(t, k)) / scale end, take_at)
		T.ok(other_differ > 0, name .. ": the other convention differs from the take (" .. other_differ .. ")")

		-- The replace action in the REAPER mock, join=cut.
		local inbox = v .. "/inbox"
		os.execute('mkdir -p "' .. inbox .. '"')
		os.execute(string.format('ln -sf ../clean.wav "%s/ghostrec-%d.wav"', inbox, take_id))
		local P = mock.new()
		_G.reaper = P.reaper
		for _, m in ipairs({ "ghostrec.replace", "ghostrec.settings" }) do package.loaded[m] = nil end
		local replace = require("ghostrec.replace")
		P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
		P.reaper.SetExtState("ghostrec", "join", "cut", true)
		local tr = P.add_track()
		local pos = 2.0
		P.add_item(tr, v .. "/take.wav", pos, ti.frames / ti.rate, 0, { B_UISEL = 1 })
		T.eq(replace.run_selected(), 1, name .. ": replaced")
		-- The items play the clean audio in the take's integers, from the project's media folder.
		local media = P.reaper.GetProjectPathEx(0)
		local fname = core.file_name(take_id, lua.clean_channel, ch, ti.bits, conv)
		local src_info = assert(core.open_audio(media .. "/" .. fname), name .. ": " .. fname .. " in the media folder")
		T.eq(src_info.bits, ti.bits, name .. ": its bits")
		T.eq(src_info.channels, ch, name .. ": its channels")
		T.eq(src_info.frames, ci.frames, name .. ": its frames")
		local f0 = math.floor(pos * ti.rate + 0.5)
		local tl = P.render_track(tr, ti.rate, f0 + ti.frames, ch)
		local function timeline(t, k) return tl[k][f0 + t + 1] end
		local lua_differ, lua_checked = count_differ(ti.frames, ch, undamaged, timeline, take_at)
		T.eq(lua_differ, 0, name .. ": REAPER timeline samples differing from the take at undamaged frames")
		T.eq(lua_checked, checked, name .. ": same samples checked")
		-- Repaired frames too: the same integers as ghostrec-sync's OUT in every segment.
		local seg_differ = count_differ(ti.frames, ch, in_segment, timeline, function(t, k) return out[t * ch + k] end)
		T.eq(seg_differ, 0, name .. ": REAPER timeline samples differing from ghostrec-sync OUT in segments")
		print(string.format("     %-26s conv %-6s %d samples null, float clean source would differ at %d, other convention at %d",
			name, core.CONV_NAMES[conv], lua_checked, float_differ, other_differ))
	end
end }

-- A WAV file of the given samples (interleaved, 1-based): float32 (tag 3) or 16/24-bit PCM.
local function write_wav(path, channels, float, bits, x)
	local bps = bits // 8
	local parts = {}
	for i = 1, #x do
		if float then
			parts[i] = string.pack("<f", x[i])
		else
			local k = math.floor(x[i] * (1 << (bits - 1)))
			k = math.max(-(1 << (bits - 1)), math.min((1 << (bits - 1)) - 1, k)) -- full scale
			parts[i] = string.pack(bits == 16 and "<i2" or "<i3", k)
		end
	end
	local data = table.concat(parts)
	local f = assert(io.open(path, "wb"))
	f:write("RIFF", string.pack("<I4", 36 + #data), "WAVE", "fmt ",
		string.pack("<I4I2I2I4I4I2I2", 16, float and 3 or 1, channels, 48000, 48000 * channels * bps, channels * bps, bits),
		"data", string.pack("<I4", #data), data)
	f:close()
end

-- write_clean_as_take converts most blocks with generated code and the others (a sample
-- to clip, a convention without that form) sample by sample: every sample of every
-- convention must be what core.convert gives, whichever way its block went.
cases[#cases + 1] = { "null: the clean audio in the take's integers == core.convert of every sample (all conventions, clipping, channel subsets)", function()
	local d = T.dir("takeformat")
	local frames = 5003 -- blocks of 2048 frames and a short one; runs of the writer's step and a tail
	local function material(channels, grid_bits)
		local x = {}
		local seed = 12345
		local function rnd()
			seed = (seed * 1103515245 + 12345) % 2147483648
			return seed / 2147483648
		end
		for i = 1, frames * channels do
			local v = (rnd() * 2 - 1) * 0.99
			if grid_bits then v = math.floor(v * (1 << (grid_bits - 1))) / (1 << (grid_bits - 1)) end
			x[i] = string.unpack("<f", string.pack("<f", v))
		end
		-- ties at both scalings, tiny values and full scale in the first block; values
		-- past full scale in the third block only (the second is plain)
		local edges = { 0.5 / 8388608, 1.5 / 8388608, -2.5 / 8388608, 0.5 / 32768, -0.5 / 32768, 3.5 / 32768,
			1e-30, -1e-30, 0.0, -1.0, 1 - 2 ^ -24, -(1 - 2 ^ -24), 1 - 2 ^ -23, 0.5, -0.5, 0.25 + 0.5 / 8388608 }
		for i, v in ipairs(edges) do x[7 + i * 3] = v end
		for i, v in ipairs({ 1.0, 1.5, -1.5, -1.0000001, 2 ^ 40, -(2 ^ 40), 1 + 2 ^ -23 }) do
			x[2 * 2048 * channels + 11 + i * 5] = v
		end
		return x
	end
	local tfmt = { { 16, 1 }, { 24, 1 }, { 24, 2 } }
	local cfmt = { { "float", 2, true, 32 }, { "float", 3, true, 32 }, { "pcm24", 2, false, 24 }, { "pcm16", 1, false, 16 } }
	local checked = 0
	for _, cf in ipairs(cfmt) do
		local cname, cch, cfloat, cbits = cf[1], cf[2], cf[3], cf[4]
		local x = material(cch, not cfloat and cbits or nil)
		local cpath = string.format("%s/clean-%s-%d.wav", d, cname, cch)
		write_wav(cpath, cch, cfloat, cbits, x)
		local ci = assert(core.open_audio(cpath))
		local cs = samples(cpath)
		for _, tf in ipairs(tfmt) do
			local bits, tch = tf[1], tf[2]
			if tch <= cch then
				local ti = { bits = bits, channels = tch, rate = 48000, float = false, frames = frames }
				for ch0 = 0, cch - tch do
					for conv = 0, 5 do
						local out = string.format("%s/out-%s-%d-%d-%d-%d.wav", d, cname, bits, tch, ch0, conv)
						T.ok(core.write_clean_as_take({ clean_channel = ch0 }, ti, ci, conv, out), "written")
						local oi = assert(core.open_audio(out))
						T.eq(oi.frames, frames, "frames")
						local rd = assert(core.reader(oi))
						local raw = rd:raw(0, frames)
						rd:close()
						local fmt = bits == 16 and "<i2" or "<i3"
						local bps = bits // 8
						local bad = 0
						for f = 0, frames - 1 do
							for k = 0, tch - 1 do
								local want = core.convert(conv, bits, cs[f * cch + ch0 + k + 1])
								local got = string.unpack(fmt, raw, 1 + (f * tch + k) * bps)
								if got ~= want then
									bad = bad + 1
									if bad <= 3 then
										print(string.format("     %s -> %d-bit %s: frame %d ch %d: x %.17g got %d want %d",
											cname, bits, core.CONV_NAMES[conv], f, ch0 + k, cs[f * cch + ch0 + k + 1], got, want))
									end
								end
								checked = checked + 1
							end
						end
						T.eq(bad, 0, string.format("%s x%d -> %d-bit x%d from ch%d, %s: samples differing from core.convert",
							cname, cch, bits, tch, ch0, core.CONV_NAMES[conv]))
					end
				end
			end
		end
	end
	print(string.format("     %d converted samples checked", checked))
end }

return cases
