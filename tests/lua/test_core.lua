-- ghostrec core: audio reader, metadata, marker decoder, conform engine.
local core = require("ghostrec.core")
local G = require("gen")
local T = require("testlib")

local function quantized(x, fmt)
	if fmt == "float32" then return x end
	local scale = fmt == "pcm16" and 32768 or 8388608
	local v = math.floor(x * scale + 0.5)
	if v >= scale then v = scale - 1 end
	return v / scale
end

local cases = {}
local function case(name, fn) cases[#cases + 1] = { name, fn } end

case("reader: 16/24/32f x WAV/RF64/W64, 3 channels, sparse reads", function()
	local dir = T.dir("reader")
	local n = 5000
	local chans = { G.noise(11, n, 0.9), G.noise(12, n, 0.5), G.noise(13, n, 0.99) }
	chans[1][1], chans[2][1], chans[3][1] = -1.0, core.fround(0.999), 0.0
	for _, fmt in ipairs({ "pcm16", "pcm24", "float32" }) do
		for _, cont in ipairs({ "wav", "rf64", "w64" }) do
			local path = string.format("%s/%s.%s", dir, fmt, cont)
			G.write_wav(path, 44100, chans, fmt, { bext_description = "hello" }, cont)
			local info = assert(core.open_audio(path))
			T.eq(info.container, cont, "container")
			T.eq(info.channels, 3, "channels")
			T.eq(info.rate, 44100, "rate")
			T.eq(info.frames, n, "frames")
			T.eq(core.format_bits(info), fmt == "pcm16" and 16 or (fmt == "pcm24" and 24 or 32), "bits")
			T.eq(info.bext_description, "hello", "bext")
			local rd = assert(core.reader(info))
			local all = rd:read(0, n)
			for i = 1, n, 37 do
				for c = 1, 3 do
					T.eq(all[(i - 1) * 3 + c], quantized(chans[c][i], fmt), fmt .. cont .. " frame " .. i)
				end
			end
			local one = rd:read(1234, 100, 2)
			for i = 1, 100 do T.eq(one[i], quantized(chans[3][1234 + i], fmt), "channel read") end
			T.eq(rd:sample(4999, 1), quantized(chans[2][5000], fmt), "sparse sample")
			T.eq(rd:sample(5000, 1), nil, "past the end")
			local _, got = rd:read(4990, 100)
			T.eq(got, 10, "short read at the end")
			rd:close()
		end
	end
end)

case("reader: bad files give one clear error", function()
	local dir = T.dir("badfiles")
	local f = io.open(dir .. "/junk.wav", "wb"); f:write(string.rep("x", 200)); f:close()
	local info, err = core.open_audio(dir .. "/junk.wav")
	T.eq(info, nil, "junk accepted")
	T.contains(err, "not a WAV, RF64 or Wave64 file")
	info, err = core.open_audio(dir .. "/missing.wav")
	T.eq(info, nil, "missing accepted")
	T.contains(err, "cannot open")
	-- truncated data chunk: readable, flagged
	G.write_wav(dir .. "/full.wav", 48000, { G.noise(1, 1000) }, "pcm24")
	local s = T.read_file(dir .. "/full.wav")
	f = io.open(dir .. "/cut.wav", "wb"); f:write(s:sub(1, #s - 1500)); f:close()
	info = assert(core.open_audio(dir .. "/cut.wav"))
	T.eq(info.truncated, true, "truncated flag")
	T.eq(info.frames, 500, "frames on disk")
	-- header only
	f = io.open(dir .. "/hdr.wav", "wb"); f:write(s:sub(1, 44)); f:close()
	info, err = core.open_audio(dir .. "/hdr.wav")
	T.eq(info, nil, "header-only accepted")
	T.contains(err, "no audio frames")
end)

case("reader: 3000 mutated WAV/RF64/W64 files never raise, only clear errors", function()
	local dir = T.dir("mutate")
	local seeds = {}
	for i, cont in ipairs({ "wav", "rf64", "w64" }) do
		local path = dir .. "/seed." .. cont
		G.write_wav(path, 48000, { G.noise(i, 300), G.noise(i + 9, 300) }, ({ "pcm16", "pcm24", "float32" })[i],
			{ bext_description = "ghostrec take_id=5 marker_frame=10 rate=48000 channels=2", cue_frame = 10 }, cont)
		seeds[#seeds + 1] = T.read_file(path)
	end
	math.randomseed(4242)
	local opened, refused = 0, 0
	local path = dir .. "/m.wav"
	for i = 1, 3000 do
		local b = { seeds[i % 3 + 1]:byte(1, -1) }
		local muts = math.random(1, 8)
		for _ = 1, muts do
			local at = math.random(1, math.min(#b, (math.random() < 0.8) and 400 or #b))
			local r = math.random()
			if r < 0.6 then b[at] = math.random(0, 255)
			elseif r < 0.8 then b[at] = 0xff
			else for k = at, math.min(#b, at + 3) do b[k] = 0 end end
		end
		if math.random() < 0.2 then for k = math.random(1, #b), #b do b[k] = nil end end
		local parts = {}
		for k = 1, #b, 4096 do parts[#parts + 1] = string.char(table.unpack(b, k, math.min(#b, k + 4095))) end
		local f = io.open(path, "wb"); f:write(table.concat(parts)); f:close()
		local info, err = core.open_audio(path)
		if info then
			opened = opened + 1
			core.clean_metadata(info)
			core.clean_meta(info)
			local rd = assert(core.reader(info))
			rd:read(0, 50)
			rd:read(info.frames - 3, 10, info.channels - 1)
			rd:sample(info.frames - 1, 0)
			rd:close()
			core.find_take_marker(info, 1)
		else
			refused = refused + 1
			T.ok(type(err) == "string" and not err:find("\n"), "one-line error")
		end
	end
	T.ok(opened > 100 and refused > 100, string.format("both outcomes seen (%d opened, %d refused)", opened, refused))
end)

case("metadata: sidecar, bext description, cue point", function()
	local dir = T.dir("meta")
	local chans = { G.noise(1, 2000), G.noise(2, 2000) }
	local path = G.write_clean(dir, 4000000001, 48000, chans, 777)
	local meta = core.clean_metadata(assert(core.open_audio(path)))
	T.eq(meta.source, "sidecar", "source")
	T.eq(meta.take_id, 4000000001, "take id")
	T.eq(meta.marker_frame, 777, "marker frame")
	T.eq(meta.channel_map[2], "FR", "channel map")
	local cm = core.clean_meta(assert(core.open_audio(path)))
	T.eq(cm.source, "bext", "ghostrec-sync reads the bext first")
	T.eq(cm.marker_frame, 777, "bext marker frame")
	-- without a bext description, ghostrec-sync falls back to the sidecar
	G.write_wav(dir .. "/ghostrec-4000000001.wav", 48000, chans, "float32", nil, "w64")
	cm = core.clean_meta(assert(core.open_audio(dir .. "/ghostrec-4000000001.wav")))
	T.eq(cm.source, "sidecar", "sidecar fallback")
	T.eq(cm.take_id, 4000000001, "sidecar take id")
	T.eq(cm.marker_frame, 777, "sidecar marker frame")
	G.write_clean(dir, 4000000001, 48000, chans, 777)
	os.remove(dir .. "/ghostrec-4000000001.json")
	meta = core.clean_metadata(assert(core.open_audio(path)))
	T.eq(meta.source, "bext", "source without sidecar")
	T.eq(meta.marker_frame, 777, "marker frame from bext")
	-- cue point only
	G.write_wav(dir .. "/cueonly.wav", 48000, chans, "float32", { cue_frame = 555 })
	local info = assert(core.open_audio(dir .. "/cueonly.wav"))
	meta = core.clean_metadata(info)
	T.eq(meta.source, "cue", "source cue")
	T.eq(meta.marker_frame, 555, "marker frame from cue")
	T.eq(info.cues[1].label, "ghostrec-marker", "cue label")
	T.eq(core.parse_bext_description("something else"), nil, "foreign bext")
	T.eq(core.parse_sidecar_json("[1,2]"), nil, "non-object sidecar")
end)

case("metadata: clean-take gaps in the sidecar (docs/contracts.md Gaps)", function()
	local sc = assert(core.parse_sidecar_json('{"take_id":5,"marker_frame":9,"rate":48000,"channels":2,' ..
		'"frames":123456,"gaps":[{"frame":100,"frames":50,"cause":"exporter-down"},' ..
		'{"frame":1000,"frames":7,"cause":"a-cause-from-a-newer-writer-that-is-long","later":[1]}],"format":"pcm24"}'))
	T.eq(sc.frames, 123456, "top-level frames, not a gap's")
	T.eq(sc.format, "pcm24", "fields after the gaps")
	T.eq(#sc.gaps, 2, "two gaps")
	T.eq(sc.gaps[1].frame, 100, "gap frame")
	T.eq(sc.gaps[1].frames, 50, "gap frames")
	T.eq(sc.gaps[1].cause, "exporter-down", "gap cause")
	T.eq(#sc.gaps[2].cause, 23, "long unknown cause cut to 23 bytes like the C's cause[24]")
	T.eq(#assert(core.parse_sidecar_json('{"take_id":5,"gaps":[]}')).gaps, 0, "empty gaps")
	for _, bad in ipairs({ '"gaps":5', '"gaps":[{"frame":1}]', '"gaps":[{"frame":1,"frames":0}]',
		'"gaps":[{"frame":10,"frames":5},{"frame":12,"frames":5}]', '"gaps":[{"frame":1,"frames":2,"cause":3}]' }) do
		local m, err = core.parse_sidecar_json('{"take_id":5,' .. bad .. '}')
		T.eq(m, nil, "rejected: " .. bad)
		T.ok(type(err) == "string", "with a reason")
	end
	-- add_gap keeps the list sorted and merges what touches (common/takemeta.c)
	local g = {}
	core.add_gap(g, 5000, 100, "ring-overrun")
	core.add_gap(g, 1000, 10, "exporter-down")
	core.add_gap(g, 5100, 50, "disk-full")
	core.add_gap(g, 990, 4100, "node-gone")
	T.eq(#g, 1, "merged")
	T.eq(g[1].frame, 990, "merged frame")
	T.eq(g[1].frames, 5150 - 990, "merged length")
	T.eq(g[1].cause, "node-gone", "earliest cause")
end)

case("marker: CRC-16/CCITT-FALSE check value", function()
	local b = {}
	for c in ("123456789"):gmatch(".") do b[#b + 1] = c:byte() end
	T.eq(core.crc16_ccitt(b), 0x29B1, "crc of 123456789")
end)

case("marker: decodes in 16/24/32f at any amplitude, anywhere, rejects corruption", function()
	local dir = T.dir("marker")
	for _, fmt in ipairs({ "pcm16", "pcm24", "float32" }) do
		for _, amp in ipairs({ 0.25, 1 / 256, 0.9 }) do
			local n = 4000
			local ch = G.noise(5, n, 0.3)
			local sym = core.marker_symbols(0xDEADBEEF, 3)
			for i = 0, core.MARKER_FRAMES - 1 do ch[1500 + i + 1] = core.fround(amp * sym[i]) end
			local path = string.format("%s/m-%s-%g.wav", dir, fmt, amp)
			G.write_wav(path, 48000, { G.noise(9, n, 0.3), ch }, fmt)
			local m = core.find_take_marker(assert(core.open_audio(path)), 1)
			T.ok(m, "marker found " .. fmt .. " " .. amp)
			T.eq(m.take_id, 0xDEADBEEF, "take id")
			T.eq(m.channel, 3, "channel")
			T.eq(m.frame, 1500, "frame")
			T.eq(m.take_channel, 1, "found on take channel 1")
			-- one payload symbol flipped: CRC or Manchester check must reject it
			ch[1500 + core.MARKER_PREAMBLE_FRAMES + 10 + 1] = -ch[1500 + core.MARKER_PREAMBLE_FRAMES + 10 + 1]
			ch[1500 + core.MARKER_PREAMBLE_FRAMES + 11 + 1] = -ch[1500 + core.MARKER_PREAMBLE_FRAMES + 11 + 1]
			G.write_wav(path, 48000, { ch }, fmt)
			T.eq(core.find_take_marker(assert(core.open_audio(path)), 1), nil, "corrupted marker accepted")
		end
	end
	-- plain noise: no false marker
	G.write_wav(dir .. "/noise.wav", 48000, { G.noise(77, 48000, 0.25) }, "pcm16")
	T.eq(core.find_take_marker(assert(core.open_audio(dir .. "/noise.wav")), 1), nil, "false marker in noise")
end)

-- Conform scenarios against the generator's true glitch log.
local function conform_case(name, p)
	case("conform: " .. name, function()
		local dir = T.dir("conform")
		local rate = p.rate or 48000
		local L = p.clean_frames or rate * 3
		local clean = {}
		for c = 1, p.clean_channels or 2 do clean[c] = G.noise(100 + c, L, 0.5) end
		local take_chans = p.take_channels or { 1, 2 }
		local marker = p.marker and { frame = p.marker, take_id = 7, channel = (take_chans[1] - 1) } or nil
		local take, truth = G.make_take(clean, p.clean_from, p.frames, marker, p.glitches, take_chans)
		G.write_wav(dir .. "/take.wav", rate, take, p.format or "pcm24")
		local clean_path = G.write_clean(dir, 7, rate, clean, p.clean_from + (p.marker or 0))
		local ti = assert(core.open_audio(dir .. "/take.wav"))
		local ci = assert(core.open_audio(clean_path))
		local m = core.find_take_marker(ti, 1)
		if p.marker then T.ok(m, "marker") else T.eq(m, nil, "no marker expected") end
		local meta = core.clean_meta(ci)
		T.eq(meta.valid, true, "bext metadata")
		local rep = assert(core.conform_run(ti, ci, meta))
		if #take_chans == 1 then T.eq(rep.clean_channel, take_chans[1] - 1, "clean channel") end
		T.eq(rep.alignment, p.marker and "marker" or "content", "alignment")
		T.same_glitches(rep.glitches, truth.glitches)
		T.same_segments(rep.segments, truth.segments)
	end)
end

conform_case("clean take, marker, no glitches", { clean_from = 5000, frames = 96000, marker = 2000, glitches = {} })
conform_case("dropped / replaced / inserted, 24-bit", { clean_from = 5000, frames = 100000, marker = 2000, glitches = {
	{ at = 20000, kind = "dropped", frames = 256 }, { at = 40000, kind = "replaced", frames = 512 },
	{ at = 60000, kind = "inserted", frames = 128 }, { at = 80000, kind = "dropped", frames = 1024 } } })
conform_case("16-bit take, PWAR-style block drops", { format = "pcm16", clean_from = 3000, frames = 100000, marker = 500,
	glitches = { { at = 10240, kind = "dropped", frames = 512 }, { at = 10752, kind = "dropped", frames = 512 },
		{ at = 50000, kind = "dropped", frames = 64 } } })
conform_case("float32 take, mono of stereo", { format = "float32", take_channels = { 2 }, clean_from = 1000, frames = 80000,
	marker = 100, glitches = { { at = 30000, kind = "dropped", frames = 300 } } })
conform_case("punch-in without marker (content search)", { clean_from = 60000, frames = 60000,
	glitches = { { at = 20000, kind = "dropped", frames = 128 } } })
conform_case("44.1 kHz", { rate = 44100, clean_from = 2000, frames = 80000, marker = 1000,
	glitches = { { at = 44100, kind = "inserted", frames = 256 } } })

case("conform: rate mismatch is refused", function()
	local dir = T.dir("rate")
	G.write_wav(dir .. "/a.wav", 48000, { G.noise(1, 5000) }, "pcm24")
	G.write_wav(dir .. "/b.wav", 44100, { G.noise(1, 5000) }, "float32")
	local rep, err = core.conform_run(assert(core.open_audio(dir .. "/a.wav")), assert(core.open_audio(dir .. "/b.wav")), nil)
	T.eq(rep, nil, "report")
	T.contains(err, "sample rate mismatch")
end)

case("conform: unrelated audio finds no alignment", function()
	local dir = T.dir("unrelated")
	G.write_wav(dir .. "/a.wav", 48000, { G.noise(1, 20000) }, "pcm24")
	G.write_wav(dir .. "/b.wav", 48000, { G.noise(2, 20000) }, "float32")
	local rep, err = core.conform_run(assert(core.open_audio(dir .. "/a.wav")), assert(core.open_audio(dir .. "/b.wav")), nil)
	T.eq(rep, nil, "report")
	T.contains(err, "no alignment")
end)

-- The release step (reascripts/make-index.lua) run as a user would, the result checked as
-- ReaPack reads it (index format v1).
local function make_index(url, ref)
	local src = os.getenv("GHOSTREC_SRC") or "."
	local interp = arg and arg[-1] or "lua5.4"
	local p = assert(io.popen(string.format('GHOSTREC_INDEX_TIME=2026-12-01T12:00:00Z "%s" "%s/reascripts/make-index.lua" %s %s 2>&1',
		interp, src, url, ref)))
	local out = p:read("a")
	local ok = p:close()
	return ok, out
end

case("reapack: the release step writes a valid index v1 for the repository URL, About in RTF", function()
	local src = os.getenv("GHOSTREC_SRC") or "."
	local ok, index = make_index("https://github.com/ghostrec-user/pw-ghost-rec", "v0.2.0")
	T.ok(ok, "make-index.lua ran: " .. index)
	T.ok(index:match('^<%?xml version="1.0" encoding="utf%-8"%?>\n<index version="1" name="pw%-ghost%-rec">'), "index v1 root")
	T.ok(index:match('<category name="[^"]+">'), "category")
	T.ok(index:match('<reapack name="ghostrec_Replace selected takes with clean recordings.lua" type="script" desc="[^"]+">'),
		"reapack package of type script")
	-- elements balanced, in ReaPack's nesting
	local depth, stack = 0, {}
	for close, name, selfclose in index:gsub("<!%[CDATA%[.-%]%]>", ""):gmatch("<(/?)([%w_]+)[^>]-(/?)>") do
		if close == "/" then
			T.eq(table.remove(stack), name, "closing tag")
		elseif selfclose ~= "/" then
			stack[#stack + 1] = name
		end
		depth = math.max(depth, #stack)
	end
	T.eq(#stack, 0, "every element closed")
	local about = index:match("<description><!%[CDATA%[(.-)%]%]></description>")
	T.ok(about and about:match("^{\\rtf1"), "About text is RTF")
	T.ok(not about:find("\n#", 1, true), "no Markdown heading left in the RTF")
	local main = T.read_file(src .. "/reascripts/ghostrec_Replace selected takes with clean recordings.lua")
	local version = main:match("%-%- @version ([%d%.]+)")
	T.contains(index, '<version name="' .. version .. '" author="pw-ghost-rec" time="2026-12-01T12:00:00Z">', "version")
	local base = "https://raw.githubusercontent.com/ghostrec-user/pw-ghost-rec/v0.2.0/reascripts/"
	local listed = 0
	for url in index:gmatch("<source[^>]*>([^<]+)</source>") do
		T.eq(url:sub(1, #base), base, "source URL under the repository at the tag")
		local rel = url:sub(#base + 1):gsub("%%20", " ")
		local f = io.open(src .. "/reascripts/" .. rel, "rb")
		T.ok(f, "listed file exists: " .. rel)
		f:close()
		listed = listed + 1
	end
	local provided = 1
	for file in main:gmatch("%-%-%s+%[n?o?main%]%s+([^\n]+)") do
		T.contains(index, 'file="' .. file .. '"', "provided file in the index")
		provided = provided + 1
	end
	T.eq(listed, provided, "sources in index vs @provides + the script")
	-- every module the scripts can require is installed by ReaPack; every script has the
	-- headers and finds its modules next to itself
	local p = assert(io.popen('ls "' .. src .. '/reascripts/ghostrec"'))
	for name in p:lines() do
		if name:match("%.lua$") then T.contains(index, 'file="ghostrec/' .. name .. '"', "module in the index") end
	end
	p:close()
	for _, name in ipairs({ "ghostrec_Replace selected takes with clean recordings.lua", "ghostrec_Settings.lua",
		"ghostrec_Watch inbox and replace takes automatically.lua",
		"ghostrec_Replace all takes whose clean recording has arrived.lua" }) do
		local text = T.read_file(src .. "/reascripts/" .. name)
		for _, tag in ipairs({ "description", "version", "author", "about" }) do
			T.ok(text:match("\n%-%- @" .. tag) or text:match("^%-%- @" .. tag), name .. ": @" .. tag)
		end
		T.contains(index, name, "script in the index")
		T.contains(text, "package.path = script_dir", name)
	end
	-- nothing committed carries a placeholder owner; the release step refuses one
	local f = io.open(src .. "/reascripts/index.xml", "rb")
	T.ok(f == nil, "no index.xml committed (the release step makes it)")
	local bad, msg = make_index("https://github.com/OWNER/pw-ghost-rec", "main")
	T.ok(not bad, "placeholder URL refused")
	T.contains(msg, "is not a public repository URL", "message")
	local none = make_index("", "")
	T.ok(not none, "usage error without arguments")
end)

return cases
