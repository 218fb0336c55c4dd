-- Test material for the ReaScript tests: pristine "clean takes" with ghostrec metadata, and
-- damaged "REAPER takes" made from them with a known glitch log, written as real WAV files.
local core = require("ghostrec.core")

local G = {}
local spack = string.pack

-- Deterministic noise: a 32-bit LCG; values are float32-exact multiples of 2^-23.
function G.noise(seed, n, amp)
	local s = seed & 0xffffffff
	local out = {}
	amp = amp or 0.5
	for i = 1, n do
		s = (s * 1664525 + 1013904223) & 0xffffffff
		out[i] = ((s >> 8) - 8388608) / 8388608 * amp
		out[i] = core.fround(out[i])
	end
	return out
end

-- Quantizes like a converter writing `bits` PCM: round to nearest, clip.
local function quant(x, bits)
	local scale = (bits == 16) and 32768 or 8388608
	local v = math.floor(x * scale + 0.5)
	if v >= scale then v = scale - 1 end
	if v < -scale then v = -scale end
	return v
end

-- The sample a `bits` PCM take holds for x, as the reader returns it (k / 2^(bits-1)).
function G.quantized(x, bits)
	return quant(x, bits) / ((bits == 16) and 32768 or 8388608)
end

-- chans: array of channel arrays (1-based, equal length). fmt: "pcm16" | "pcm24" | "float32".
-- meta (optional): bext_description, cue_frame (ghostrec-marker cue point).
-- container: "wav" (default) | "rf64" | "w64".
function G.write_wav(path, rate, chans, fmt, meta, container)
	container = container or "wav"
	local nch = #chans
	local n = #chans[1]
	local bits = (fmt == "pcm16") and 16 or ((fmt == "pcm24") and 24 or 32)
	local tag = (fmt == "float32") and 3 or 1
	local bps = bits // 8
	local parts = {}
	local letter = (fmt == "pcm16") and "i2" or ((fmt == "pcm24") and "i3" or "f")
	local batch = {}
	for i = 1, n do
		for c = 1, nch do
			local x = chans[c][i]
			if fmt ~= "float32" then x = quant(x, bits) end
			batch[#batch + 1] = x
		end
		if #batch >= 4096 or i == n then
			parts[#parts + 1] = spack("<" .. string.rep(letter, #batch), table.unpack(batch))
			batch = {}
		end
	end
	local data = table.concat(parts)
	local chunks = {}
	local fmtbody = spack("<I2I2I4I4I2I2", tag, nch, rate, rate * nch * bps, nch * bps, bits)
	chunks[#chunks + 1] = { "fmt ", fmtbody }
	if meta and meta.bext_description then
		local desc = meta.bext_description .. string.rep("\0", 256 - #meta.bext_description)
		local bext = desc .. string.rep("\0", 32 + 32 + 10 + 8) .. spack("<I8I2", 0, 1) .. string.rep("\0", 64 + 10 + 180)
		chunks[#chunks + 1] = { "bext", bext }
	end
	if meta and meta.cue_frame then
		chunks[#chunks + 1] = { "cue ", spack("<I4I4I4c4I4I4I4", 1, 1, meta.cue_frame, "data", 0, 0, meta.cue_frame) }
		local label = "ghostrec-marker\0"
		local labl = spack("<c4I4I4", "labl", 4 + #label, 1) .. label
		chunks[#chunks + 1] = { "LIST", "adtl" .. labl }
	end
	chunks[#chunks + 1] = { "data", data }
	local f = assert(io.open(path, "wb"))
	if container == "w64" then
		local tail = "\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
		local body = {}
		for _, ch in ipairs(chunks) do
			local guid = ch[1] .. tail
			if ch[1] == "cue " or ch[1] == "LIST" then guid = ch[1] .. tail end
			local sz = 24 + #ch[2]
			body[#body + 1] = guid .. spack("<I8", sz) .. ch[2] .. string.rep("\0", (8 - sz % 8) % 8)
		end
		local b = table.concat(body)
		f:write("riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00", spack("<I8", 40 + #b), "wave" .. tail, b)
	else
		local body = {}
		for _, ch in ipairs(chunks) do
			local size = #ch[2]
			if container == "rf64" and ch[1] == "data" then size = 0xFFFFFFFF end
			body[#body + 1] = ch[1] .. spack("<I4", size) .. ch[2] .. ((#ch[2] % 2 == 1) and "\0" or "")
		end
		local b = table.concat(body)
		if container == "rf64" then
			local ds64 = "ds64" .. spack("<I4I8I8I8I4", 28, 4 + 36 + #b, #data, n, 0)
			f:write("RF64", spack("<I4", 0xFFFFFFFF), "WAVE", ds64, b)
		else
			f:write("RIFF", spack("<I4", 4 + #b), "WAVE", b)
		end
	end
	f:close()
end

-- The exporter's own finalize code, when the build has it (tests/lua/exporter-finalize.c).
local FINALIZE = (os.getenv("GHOSTREC_BUILD") or "build") .. "/tests/lua/ghostrec-lua-exporter-finalize"
local function have_finalize()
	local f = io.open(FINALIZE, "rb")
	if f then f:close() return true end
	return false
end
G.exporter_written = 0

-- A clean take as the exporter writes it: float32, bext + cue + sidecar (+ per-channel
-- files). Written by the exporter's finalize_take when built, else by the Lua writer below
-- (rates other than the contract's, or no metadata, always use the Lua writer).
-- Returns the path of the multichannel file.
function G.write_clean(dir, take_id, rate, chans, marker_frame, opts)
	opts = opts or {}
	if have_finalize() and not opts.no_metadata and not opts.lua_writer and (opts.format or "float32") == "float32" then
		local raw = dir .. "/.spool-" .. take_id .. ".raw"
		local f = assert(io.open(raw, "wb"))
		local n, nch = #chans[1], #chans
		local batch = {}
		for i = 1, n do
			for c = 1, nch do batch[#batch + 1] = chans[c][i] end
			if #batch >= 4096 or i == n then
				f:write(string.pack("<" .. string.rep("f", #batch), table.unpack(batch)))
				batch = {}
			end
		end
		f:close()
		local cmd = string.format('"%s" "%s" "%s" %d %d %d %d float32 %d >/dev/null', FINALIZE, raw, dir, take_id, nch,
			rate, marker_frame, opts.per_channel and 1 or 0)
		local ok = os.execute(cmd)
		os.remove(raw)
		assert(ok, "exporter finalize failed: " .. cmd)
		G.exporter_written = G.exporter_written + 1
		return dir .. "/" .. core.clean_file_name(take_id)
	end
	local path = dir .. "/" .. core.clean_file_name(take_id)
	local meta = nil
	if not opts.no_metadata then
		meta = {
			bext_description = string.format("ghostrec take_id=%d marker_frame=%d rate=%d channels=%d",
				take_id, marker_frame, rate, #chans),
			cue_frame = marker_frame,
		}
	end
	G.write_wav(path, rate, chans, opts.format or "float32", meta)
	if opts.sidecar ~= false and not opts.no_metadata then
		local map = {}
		for c = 1, #chans do map[c] = '"' .. (({ "FL", "FR" })[c] or ("AUX" .. (c - 1))) .. '"' end
		local f = assert(io.open(dir .. "/ghostrec-" .. take_id .. ".json", "wb"))
		f:write(string.format('{"take_id":%d,"marker_frame":%d,"rate":%d,"channels":%d,"channel_map":[%s],' ..
			'"frames":%d,"start_utc":"2026-11-21T10:00:00.000Z","node":"ghostrec","format":"float32"}\n',
			take_id, marker_frame, rate, #chans, table.concat(map, ","), #chans[1]))
		f:close()
	end
	if opts.per_channel then
		for c = 1, #chans do
			G.write_wav(dir .. "/" .. core.clean_file_name(take_id, c - 1), rate, { chans[c] }, "float32", meta)
		end
	end
	return path
end

-- Builds a damaged take from clean channel arrays.
--   clean_from: clean frame where the take starts (take frame 0)
--   frames: take length
--   marker: {frame = take frame, take_id, channel, amplitude, channels = {take channels}} or nil
--   glitches: ordered list of {at = take frame, kind = "dropped"|"inserted"|"replaced", frames = n}
--   take_channels: list of clean channel indexes (1-based) the take carries
-- Returns take channel arrays and the true EDL {segments, glitches} for checking.
function G.make_take(clean, clean_from, frames, marker, glitches, take_channels)
	take_channels = take_channels or { 1 }
	local out = {}
	for k = 1, #take_channels do out[k] = {} end
	local segments = {}
	local truth = {}
	local d = clean_from
	local gi = 1
	local seg_start = 0
	local t = 0
	local garbage_seed = 777
	while t < frames do
		local g = glitches and glitches[gi]
		if g and g.at == t then
			gi = gi + 1
			if g.kind == "dropped" then
				segments[#segments + 1] = { take_start = seg_start, take_end = t, clean_start = seg_start + d }
				d = d + g.frames
				seg_start = t
				truth[#truth + 1] = { take_frame = t, kind = "dropped", frames = g.frames }
			elseif g.kind == "inserted" then
				segments[#segments + 1] = { take_start = seg_start, take_end = t, clean_start = seg_start + d }
				local junk = G.noise(garbage_seed, g.frames, 0.3)
				garbage_seed = garbage_seed + 1
				for i = 1, g.frames do
					for k = 1, #take_channels do out[k][t + i] = junk[i] end
				end
				truth[#truth + 1] = { take_frame = t, kind = "inserted", frames = g.frames }
				t = t + g.frames
				d = d - g.frames
				seg_start = t
			else
				for i = 1, g.frames do
					for k = 1, #take_channels do out[k][t + i] = 0.0 end
				end
				truth[#truth + 1] = { take_frame = t, kind = "replaced", frames = g.frames }
				t = t + g.frames
			end
		else
			for k, c in ipairs(take_channels) do out[k][t + 1] = clean[c][t + d + 1] or 0.0 end
			t = t + 1
		end
	end
	for k = 1, #take_channels do
		for i = frames + 1, #out[k] do out[k][i] = nil end
	end
	segments[#segments + 1] = { take_start = seg_start, take_end = frames, clean_start = seg_start + d }
	if marker then
		local sym = core.marker_symbols(marker.take_id, marker.channel)
		local a = marker.amplitude or 0.25
		for k = 1, #take_channels do
			if not marker.only_channel or marker.only_channel == k then
				for i = 0, core.MARKER_FRAMES - 1 do out[k][marker.frame + i + 1] = a * sym[i] end
			end
		end
	end
	return out, { segments = segments, glitches = truth }
end

return G
