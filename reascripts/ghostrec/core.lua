-- @noindex
-- ghostrec core: pure Lua (5.3 / 5.4), no REAPER calls.
--   * audio file reader: RIFF/WAVE, RF64, Sony Wave64; 8/16/24/32-bit PCM, 32/64-bit float,
--     any channel count; sparse reads of frame ranges (seek + read only what is needed)
--   * clean-take metadata: bext description, cue point, sidecar JSON (TEAM.md contract)
--   * sync marker decoder: a translation of common/marker.c
--   * conform (EDL) engine: a translation of common/conform.c
-- Samples are returned as Lua numbers holding exactly the float32 value libsndfile would
-- give the C side (PCM is scaled by 2^-(bits-1), which is exact in float32 up to 24 bits).

local core = {}
core.VERSION = "0.1.0"

local spack, sunpack = string.pack, string.unpack
local floor, abs = math.floor, math.abs

-- Rounds a number to the nearest float32, as C's float arithmetic does after each operation.
local function fround(x)
	return (sunpack("<f", spack("<f", x)))
end
core.fround = fround

---------------------------------------------------------------------------------------------
-- Audio file reader
---------------------------------------------------------------------------------------------

local W64_TAIL = "\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
local W64_RIFF = "riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
local W64_WAVE = "wave" .. W64_TAIL
local KSDATAFORMAT_TAIL = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

local function cstring(s)
	local z = s:find("\0", 1, true)
	if z then s = s:sub(1, z - 1) end
	return s
end

local function parse_fmt(info, body)
	if #body < 16 then return nil, "fmt chunk too short" end
	local tag, channels, rate, _, block_align, bits = sunpack("<I2I2I4I4I2I2", body)
	if tag == 0xFFFE then
		if #body < 40 then return nil, "WAVE_FORMAT_EXTENSIBLE fmt chunk too short" end
		local sub = body:sub(25, 40)
		if sub:sub(3) ~= KSDATAFORMAT_TAIL then return nil, "unsupported WAVE_FORMAT_EXTENSIBLE subformat" end
		tag = sunpack("<I2", sub)
	end
	if tag ~= 1 and tag ~= 3 then
		return nil, string.format("unsupported WAV sample format 0x%04x (need PCM or IEEE float)", tag)
	end
	if channels < 1 then return nil, "fmt chunk says 0 channels" end
	if rate < 1 then return nil, "fmt chunk says sample rate 0" end
	local float = (tag == 3)
	if float and bits ~= 32 and bits ~= 64 then return nil, "unsupported float sample size " .. bits end
	if not float and bits ~= 8 and bits ~= 16 and bits ~= 24 and bits ~= 32 then
		return nil, "unsupported PCM sample size " .. bits
	end
	local bps = bits // 8
	if block_align ~= bps * channels then
		return nil, string.format("fmt block align %d does not match %d x %d bits", block_align, channels, bits)
	end
	info.channels, info.rate, info.bits, info.float = channels, rate, bits, float
	info.bytes_per_sample, info.block_align = bps, block_align
	return true
end

local function parse_cue(info, body)
	if #body < 4 then return end
	local n = sunpack("<I4", body)
	for i = 0, n - 1 do
		local at = 5 + i * 24
		if at + 23 > #body then break end
		local id, position, _, _, _, sample_offset = sunpack("<I4I4c4I4I4I4", body, at)
		info.cues[#info.cues + 1] = { id = id, position = position, sample_offset = sample_offset }
	end
end

local function parse_list(info, body)
	if body:sub(1, 4) ~= "adtl" then return end
	local pos = 5
	while pos + 8 <= #body do
		local id, size = sunpack("<c4I4", body, pos)
		local sub = body:sub(pos + 8, pos + 7 + size)
		if (id == "labl" or id == "note") and #sub >= 4 then
			local cue_id = sunpack("<I4", sub)
			info.labels[cue_id] = cstring(sub:sub(5))
		end
		pos = pos + 8 + size + (size % 2)
	end
end

-- Reads the whole of a (small) metadata chunk body.
local function read_body(f, offset, size, limit)
	if size > limit then return nil end
	f:seek("set", offset)
	local s = f:read(size)
	if not s or #s < size then return nil end
	return s
end

local META_LIMIT = 1 << 20

local function handle_chunk(info, f, id, offset, size)
	if id == "fmt " then
		local body = read_body(f, offset, size, 4096)
		if not body then return nil, "fmt chunk unreadable" end
		local ok, err = parse_fmt(info, body)
		if not ok then return nil, err end
	elseif id == "data" then
		info.data_offset, info.data_bytes = offset, size
	elseif id == "bext" then
		local body = read_body(f, offset, size, META_LIMIT)
		if body then info.bext_description = cstring(body:sub(1, 256)) end
	elseif id == "cue " then
		local body = read_body(f, offset, size, META_LIMIT)
		if body then parse_cue(info, body) end
	elseif id == "LIST" then
		local body = read_body(f, offset, size, META_LIMIT)
		if body then parse_list(info, body) end
	end
	return true
end

local function scan_riff(info, f, file_size, rf64)
	local ds64_data
	local pos = 12
	while pos + 8 <= file_size do
		f:seek("set", pos)
		local hdr = f:read(8)
		if not hdr or #hdr < 8 then break end
		local id, size = sunpack("<c4I4", hdr)
		if rf64 and id == "ds64" then
			local body = read_body(f, pos + 8, size, 4096)
			if not body or #body < 24 then return nil, "ds64 chunk unreadable" end
			local _, data_size = sunpack("<I8I8", body)
			ds64_data = data_size
		elseif rf64 and id == "data" and size == 0xFFFFFFFF then
			if not ds64_data then return nil, "RF64 data chunk without ds64 size" end
			size = ds64_data
		end
		local ok, err = handle_chunk(info, f, id, pos + 8, size)
		if not ok then return nil, err end
		pos = pos + 8 + size + (size % 2)
	end
	return true
end

local function scan_w64(info, f, file_size)
	local pos = 40
	while pos + 24 <= file_size do
		f:seek("set", pos)
		local hdr = f:read(24)
		if not hdr or #hdr < 24 then break end
		local guid, size = sunpack("<c16I8", hdr)
		if size < 24 then return nil, "corrupt Wave64 chunk size" end
		local id = guid:sub(1, 4)
		if guid:sub(5) == W64_TAIL or id == "cue " or id == "LIST" then
			local ok, err = handle_chunk(info, f, id, pos + 24, size - 24)
			if not ok then return nil, err end
		end
		pos = pos + size + ((8 - size % 8) % 8)
	end
	return true
end

-- Opens an audio file and reads its header and metadata. Returns an info table or nil, err.
-- info: path, container ("wav"|"rf64"|"w64"), rate, channels, bits, float, frames,
--       bext_description, cues {id, position, sample_offset, label}, labels.
function core.open_audio(path)
	local f, oerr = io.open(path, "rb")
	if not f then return nil, "cannot open " .. tostring(path) .. ": " .. tostring(oerr) end
	local file_size = f:seek("end")
	f:seek("set", 0)
	local head = f:read(40) or ""
	local info = { path = path, cues = {}, labels = {}, file_size = file_size }
	local ok, err
	if #head >= 12 and head:sub(1, 4) == "RIFF" and head:sub(9, 12) == "WAVE" then
		info.container = "wav"
		ok, err = scan_riff(info, f, file_size, false)
	elseif #head >= 12 and head:sub(1, 4) == "RF64" and head:sub(9, 12) == "WAVE" then
		info.container = "rf64"
		ok, err = scan_riff(info, f, file_size, true)
	elseif #head >= 40 and head:sub(1, 16) == W64_RIFF and head:sub(25, 40) == W64_WAVE then
		info.container = "w64"
		ok, err = scan_w64(info, f, file_size)
	else
		f:close()
		return nil, path .. ": not a WAV, RF64 or Wave64 file"
	end
	f:close()
	if not ok then return nil, path .. ": " .. err end
	if not info.rate then return nil, path .. ": no fmt chunk" end
	if not info.data_offset then return nil, path .. ": no data chunk" end
	local avail = file_size - info.data_offset
	if info.data_bytes > avail then
		-- A file still being written or cut short: trust what is on disk, say so.
		info.truncated = true
		info.data_bytes = avail - avail % info.block_align
	end
	info.frames = info.data_bytes // info.block_align
	if info.frames == 0 then return nil, path .. ": no audio frames" end
	for _, c in ipairs(info.cues) do c.label = info.labels[c.id] end
	return info
end

-- Sample decoders: format letter for string.unpack and the scale to [-1, 1).
local function sample_codec(info)
	if info.float then
		return info.bits == 32 and "f" or "d", 1.0, false
	elseif info.bits == 8 then
		return "B", 1.0 / 128.0, true
	elseif info.bits == 16 then
		return "i2", 1.0 / 32768.0, false
	elseif info.bits == 24 then
		return "i3", 1.0 / 8388608.0, false
	else
		return "i4", 1.0 / 2147483648.0, false
	end
end

local UNPACK_BATCH = 2048
local fmt_cache = {}
local function batch_format(letter, n)
	local key = letter .. n
	local fmt = fmt_cache[key]
	if not fmt then
		fmt = "<" .. string.rep(letter, n)
		fmt_cache[key] = fmt
	end
	return fmt
end

-- A reader over an opened file: keeps the handle, reads frame ranges on demand.
local Reader = {}
Reader.__index = Reader

function core.reader(info)
	local f, err = io.open(info.path, "rb")
	if not f then return nil, "cannot open " .. info.path .. ": " .. tostring(err) end
	local letter, scale, unsigned8 = sample_codec(info)
	local r = setmetatable({ info = info, f = f, letter = letter, scale = scale, u8 = unsigned8,
		cache = {}, cache_order = {}, fmt1 = "<" .. letter }, Reader)
	return r
end

function Reader:close()
	if self.f then self.f:close() self.f = nil end
end

-- Reads frames [start, start + count) (0-based) and returns a flat interleaved array
-- (1-based Lua table: frame i, channel c at [i * channels + c + 1]) and the frame count read.
-- If `channel` (0-based) is given, returns that channel only (index i + 1).
function Reader:read(start, count, channel)
	local info = self.info
	if start < 0 then count = count + start; start = 0 end
	if start + count > info.frames then count = info.frames - start end
	local out = {}
	if count <= 0 then return out, 0 end
	local ch = info.channels
	local bps = info.bytes_per_sample
	self.f:seek("set", info.data_offset + start * info.block_align)
	local bytes = self.f:read(count * info.block_align)
	if not bytes then return out, 0 end
	count = #bytes // info.block_align
	local letter, scale, u8 = self.letter, self.scale, self.u8
	local float32 = (letter == "f")
	local int32 = (letter == "i4")
	local n = 0
	if channel == nil or ch == 1 then
		local total = count * ch
		local pos = 1
		local done = 0
		while done < total do
			local batch = total - done
			if batch > UNPACK_BATCH then batch = UNPACK_BATCH end
			local vals = { sunpack(batch_format(letter, batch), bytes, pos) }
			pos = vals[batch + 1]
			if float32 then
				for i = 1, batch do out[n + i] = vals[i] end
			elseif int32 then
				for i = 1, batch do out[n + i] = fround(vals[i]) * scale end
			elseif u8 then
				for i = 1, batch do out[n + i] = (vals[i] - 128) * scale end
			else
				for i = 1, batch do out[n + i] = vals[i] * scale end
			end
			n = n + batch
			done = done + batch
		end
		if channel ~= nil then
			-- mono file, channel 0 requested: same thing
			return out, count
		end
		return out, count
	end
	-- One channel of an interleaved file: unpack that column only.
	local fmt1 = "<" .. letter
	local stride = info.block_align
	local pos = 1 + channel * bps
	for i = 1, count do
		local v = sunpack(fmt1, bytes, pos)
		if float32 then
			out[i] = v
		elseif int32 then
			out[i] = fround(v) * scale
		elseif u8 then
			out[i] = (v - 128) * scale
		else
			out[i] = v * scale
		end
		pos = pos + stride
	end
	return out, count
end

-- Random access to single samples: raw byte blocks are cached and only the samples asked
-- for are decoded, so sparse probing of a long file costs little.
local SAMPLE_BLOCK_FRAMES = 16384
local SAMPLE_BLOCKS_KEPT = 16

function Reader:sample(frame, channel)
	if frame < 0 or frame >= self.info.frames then return nil end
	local b = frame // SAMPLE_BLOCK_FRAMES
	local bytes = self.cache[b]
	if not bytes then
		local info = self.info
		self.f:seek("set", info.data_offset + b * SAMPLE_BLOCK_FRAMES * info.block_align)
		bytes = self.f:read(SAMPLE_BLOCK_FRAMES * info.block_align) or ""
		local order = self.cache_order
		order[#order + 1] = b
		self.cache[b] = bytes
		if #order > SAMPLE_BLOCKS_KEPT then self.cache[table.remove(order, 1)] = nil end
	end
	local info = self.info
	local pos = (frame - b * SAMPLE_BLOCK_FRAMES) * info.block_align + channel * info.bytes_per_sample + 1
	local v = sunpack(self.fmt1, bytes, pos)
	local letter = self.letter
	if letter == "f" or letter == "d" then return v end
	if letter == "i4" then return fround(v) * self.scale end
	if self.u8 then return (v - 128) * self.scale end
	return v * self.scale
end

-- Quantization bits the marker/conform tolerance follows (32 = float).
function core.format_bits(info)
	if info.float then return 32 end
	return info.bits
end

---------------------------------------------------------------------------------------------
-- Clean-take metadata
---------------------------------------------------------------------------------------------

-- Parses "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>".
function core.parse_bext_description(desc)
	if type(desc) ~= "string" or not desc:match("^ghostrec%s") then return nil end
	local m = {}
	for k, v in desc:gmatch("(%w[%w_]*)=(%d+)") do m[k] = tonumber(v) end
	if not m.take_id or not m.marker_frame then return nil end
	return m
end

-- Minimal reader for the flat sidecar JSON object (numbers, strings, string arrays).
function core.parse_sidecar_json(text)
	if type(text) ~= "string" or not text:match("^%s*{") then return nil, "sidecar is not a JSON object" end
	local m = {}
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*(%-?%d+%.?%d*[eE]?[%+%-]?%d*)') do m[k] = tonumber(v) end
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*"([^"]*)"') do m[k] = v end
	local map = text:match('"channel_map"%s*:%s*(%b[])')
	if map then
		m.channel_map = {}
		for v in map:gmatch('"([^"]*)"') do m.channel_map[#m.channel_map + 1] = v end
	end
	if not m.take_id then return nil, "sidecar has no take_id" end
	return m
end

-- Everything known about a clean file: take_id, marker_frame (nil when unknown), rate,
-- channels, and where it came from. Sidecar first (it is complete), then bext, then cue.
function core.clean_metadata(info)
	local meta = { source = "none" }
	local dir, base = info.path:match("^(.-)([^/\\]*)$")
	local id = base:match("^ghostrec%-(%d+)%.%w+$") or base:match("^ghostrec%-(%d+)%-ch%d+%.%w+$")
	if id then
		local f = io.open(dir .. "ghostrec-" .. id .. ".json", "rb")
		if f then
			local text = f:read("a")
			f:close()
			local sc = core.parse_sidecar_json(text)
			if sc then
				meta.take_id, meta.marker_frame = sc.take_id, sc.marker_frame
				meta.rate, meta.channels, meta.channel_map = sc.rate, sc.channels, sc.channel_map
				meta.source = "sidecar"
			end
		end
	end
	local bext = core.parse_bext_description(info.bext_description)
	if bext then
		meta.take_id = meta.take_id or bext.take_id
		meta.marker_frame = meta.marker_frame or bext.marker_frame
		meta.rate = meta.rate or bext.rate
		meta.channels = meta.channels or bext.channels
		if meta.source == "none" then meta.source = "bext" end
	end
	if not meta.marker_frame then
		for _, c in ipairs(info.cues) do
			if c.label == "ghostrec-marker" then
				meta.marker_frame = c.sample_offset
				if meta.source == "none" then meta.source = "cue" end
				break
			end
		end
	end
	if not meta.take_id and id then meta.take_id = tonumber(id) end
	return meta
end

-- Contract file names (TEAM.md).
function core.clean_file_name(take_id, channel)
	if channel then return string.format("ghostrec-%d-ch%d.wav", take_id, channel) end
	return string.format("ghostrec-%d.wav", take_id)
end

---------------------------------------------------------------------------------------------
-- Sync marker decoder (translation of common/marker.c)
---------------------------------------------------------------------------------------------

local MARKER_PREAMBLE_FRAMES = 32
local MARKER_PAYLOAD_BITS = 56
local MARKER_FRAMES = MARKER_PREAMBLE_FRAMES + 2 * MARKER_PAYLOAD_BITS
local MARKER_MIN_AMPLITUDE = 1.0 / 256.0
core.MARKER_FRAMES = MARKER_FRAMES
core.MARKER_PREAMBLE_FRAMES = MARKER_PREAMBLE_FRAMES

local marker_preamble = {
	[0] = 1, 0, -1, 0, 1, 1, 0, -1, -1, 0, 1, 0, 0, -1, 1, 0,
	-1, 0, 0, 1, -1, 0, 1, 1, 0, 0, -1, 1, 0, -1, 0, 1,
}
core.marker_preamble = marker_preamble

function core.crc16_ccitt(bytes)
	local crc = 0xffff
	for i = 1, #bytes do
		crc = crc ~ (bytes[i] << 8)
		for _ = 1, 8 do
			if crc & 0x8000 ~= 0 then
				crc = ((crc << 1) ~ 0x1021) & 0xffff
			else
				crc = (crc << 1) & 0xffff
			end
		end
	end
	return crc
end

local function payload_bytes(take_id, channel)
	local b = { (take_id >> 24) & 0xff, (take_id >> 16) & 0xff, (take_id >> 8) & 0xff, take_id & 0xff,
		channel & 0xff }
	local crc = core.crc16_ccitt(b)
	b[6] = crc >> 8
	b[7] = crc & 0xff
	return b
end

-- Symbols (-1, 0, +1) of a marker, 0-based table of MARKER_FRAMES entries.
function core.marker_symbols(take_id, channel)
	local bytes = payload_bytes(take_id, channel)
	local sym = {}
	for i = 0, MARKER_PREAMBLE_FRAMES - 1 do sym[i] = marker_preamble[i] end
	for bit = 0, MARKER_PAYLOAD_BITS - 1 do
		local one = (bytes[bit // 8 + 1] >> (7 - bit % 8)) & 1
		sym[MARKER_PREAMBLE_FRAMES + 2 * bit] = one == 1 and 1 or -1
		sym[MARKER_PREAMBLE_FRAMES + 2 * bit + 1] = one == 1 and -1 or 1
	end
	return sym
end

function core.marker_tolerance(bits)
	if bits == 8 then
		return 1.0 / 64.0
	elseif bits == 16 then
		return 1.0 / 16384.0 -- 2 LSB: rounding plus any converter's +-1
	elseif bits == 24 then
		return 1.0 / 4194304.0
	end
	return 1.0 / 65536.0 / 256.0 -- float32 round trip of the symbol levels
end

-- |x| <= tol where x is the float32 result of a float operation computed here in double.
-- Rounding is monotonic and tol is a float32, so the double test decides except just above tol.
local function within(d, tol)
	if d < 0 then d = -d end
	return d <= tol or (d <= tol * 1.0000005 and fround(d) <= tol)
end

-- Classifies x as -1, 0, +1 against amplitude a; returns 2 when it matches none.
local function classify(x, a, tol)
	if within(x, tol) then return 0 end
	if within(x - a, tol) then return 1 end
	if within(x + a, tol) then return -1 end
	return 2
end

-- Tries to decode a marker starting exactly at s[base] (samples spaced `stride` entries
-- apart). `avail` is how many frames are readable from there. Returns a match table
-- {take_id, channel, frame = 0, amplitude} or nil.
function core.marker_decode_at(s, base, avail, stride, tol)
	if avail < MARKER_FRAMES then return nil end
	local a = s[base]
	local min_a = fround(MARKER_MIN_AMPLITUDE - tol)
	if not (a >= min_a) or a > fround(1.0 + tol) or a <= 2.0 * tol then return nil end

	for i = 1, MARKER_PREAMBLE_FRAMES - 1 do
		if classify(s[base + i * stride], a, tol) ~= marker_preamble[i] then return nil end
	end

	local bytes = { 0, 0, 0, 0, 0, 0, 0 }
	local p = base + MARKER_PREAMBLE_FRAMES * stride
	for bit = 0, MARKER_PAYLOAD_BITS - 1 do
		local first = classify(s[p + (2 * bit) * stride], a, tol)
		local second = classify(s[p + (2 * bit + 1) * stride], a, tol)
		if first == second or first == 0 or second == 0 or first == 2 or second == 2 then return nil end
		if first == 1 then
			local k = bit // 8 + 1
			bytes[k] = bytes[k] | (1 << (7 - bit % 8))
		end
	end
	local crc = (bytes[6] << 8) | bytes[7]
	if core.crc16_ccitt({ bytes[1], bytes[2], bytes[3], bytes[4], bytes[5] }) ~= crc then return nil end

	return {
		take_id = (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4],
		channel = bytes[5],
		frame = 0,
		amplitude = a,
	}
end

-- Scans frames [0, n) of s (frame i at s[base + i * stride]) for the first valid marker.
function core.marker_find(s, base, n, stride, tol)
	if n < MARKER_FRAMES then return nil end
	local pre = MARKER_MIN_AMPLITUDE * 0.5
	for i = 0, n - MARKER_FRAMES do
		local at = base + i * stride
		local a0 = s[at]
		-- Cheap pre-checks before the full decode: +A then 0 then -A.
		if not (a0 < pre) and within(s[at + stride], tol) and within(s[at + 2 * stride] + a0, tol) then
			local m = core.marker_decode_at(s, at, n - i, stride, tol)
			if m then
				m.frame = i
				return m
			end
		end
	end
	return nil
end

---------------------------------------------------------------------------------------------
-- Finding the marker in a REAPER take
---------------------------------------------------------------------------------------------

-- Scans the first `seconds` of every channel of a take file for the sync marker.
-- Returns {take_id, channel (marker payload), frame, take_channel (0-based), amplitude} or nil.
function core.find_take_marker(info, seconds)
	local rd, err = core.reader(info)
	if not rd then return nil, err end
	local n = math.min(info.frames, floor((seconds or 10) * info.rate))
	local data, got = rd:read(0, n)
	rd:close()
	local tol = core.marker_tolerance(core.format_bits(info))
	local best
	for c = 0, info.channels - 1 do
		local m = core.marker_find(data, 1 + c, got, info.channels, tol)
		if m and (not best or m.frame < best.frame) then
			m.take_channel = c
			best = m
		end
	end
	return best
end

---------------------------------------------------------------------------------------------
-- Conform engine
---------------------------------------------------------------------------------------------

-- How far two samples may differ and still be the same audio: the take's quantization step.
function core.conform_tolerance(bits)
	if bits == 8 then return 1.0 / 128.0 end
	if bits == 16 then return 1.0 / 32768.0 end
	if bits == 24 then return 1.0 / 8388608.0 end
	return 1.0 / 16777216.0
end

local CHECK_INTERVAL = 64      -- frames between sparse checkpoints
local MATCH_WINDOW = 32        -- frames that must match to (re)acquire an offset
local MAX_SHIFT = 48000        -- largest drop/insert searched at one glitch, frames
local MAX_RESYNC = 96000       -- how far past a glitch the take is searched for a match
local MAX_REPLACED = 8192      -- longest run of wrong samples confirmed by the quick path

local Conform = {}
Conform.__index = Conform

-- Channel pairs compared: take channel -> clean channel.
local function channel_pairs(take_info, clean_info, clean_channel)
	local pairs_ = {}
	if take_info.channels == clean_info.channels and clean_channel == nil then
		for c = 0, take_info.channels - 1 do pairs_[#pairs_ + 1] = { c, c } end
	else
		pairs_[1] = { 0, clean_channel or 0 }
	end
	return pairs_
end

-- True if take frame t matches clean frame t + d on every compared channel.
function Conform:frame_matches(t, d)
	local cf = t + d
	if t < 0 or t >= self.take_frames or cf < 0 or cf >= self.clean_frames then return false end
	local tol = self.tol
	for _, p in ipairs(self.pairs) do
		local x = self.T:sample(t, p[1])
		local y = self.C:sample(cf, p[2])
		if y == nil or x == nil then return false end
		local e = x - y
		if e < 0 then e = -e end
		if e > tol then return false end
	end
	return true
end

function Conform:in_marker(t)
	local m = self.marker_take_frame
	return m ~= nil and t >= m and t < m + MARKER_FRAMES
end

-- True if frames [t, t + n) all match with offset d (marker frames count as matching).
function Conform:window_matches(t, d, n)
	if t + n > self.take_frames then n = self.take_frames - t end
	if n <= 0 then return false end
	local real = 0
	for i = 0, n - 1 do
		if not self:in_marker(t + i) then
			if not self:frame_matches(t + i, d) then return false end
			real = real + 1
		end
	end
	return real > 0
end

-- Finds an offset d' (nearest to d first) such that a window at take frame p matches.
-- Shifts searched: d - max_back .. d + max_fwd (an insertion before p cannot exceed p - g).
function Conform:search_offset(p, d, max_back, max_fwd)
	if self:window_matches(p, d, MATCH_WINDOW) then return d end
	for k = 1, math.max(max_back, max_fwd) do
		if k <= max_fwd and self:window_matches(p, d + k, MATCH_WINDOW) then return d + k end
		if k <= max_back and self:window_matches(p, d - k, MATCH_WINDOW) then return d - k end
	end
	return nil
end

-- Exact content search for the first alignment: the clean offset of take frame p.
function Conform:content_search(p)
	local first = self.T:sample(p, self.pairs[1][1])
	for cf = 0, self.clean_frames - MATCH_WINDOW do
		local y = self.C:sample(cf, self.pairs[1][2])
		local e = first - y
		if e < 0 then e = -e end
		if e <= self.tol and self:window_matches(p, cf - p, MATCH_WINDOW) then
			-- Reject ambiguous (periodic/silent) matches: require a longer run to agree too.
			if self:window_matches(p, cf - p, MATCH_WINDOW * 8) then return cf - p end
		end
	end
	return nil
end

-- A non-silent take frame to anchor the content search on.
function Conform:first_loud_frame(from)
	local limit = math.min(self.take_frames - MATCH_WINDOW * 8, from + self.rate * 30)
	for t = from, limit do
		local x = self.T:sample(t, self.pairs[1][1])
		if x ~= 0 and not self:in_marker(t) then return t end
	end
	return nil
end

function Conform:add_segment(s, e, d)
	if e > s then
		self.segments[#self.segments + 1] = { take_start = s, take_end = e, clean_start = s + d }
	end
end

function Conform:add_glitch(t, kind, n)
	self.glitches[#self.glitches + 1] = { take_frame = t, kind = kind, frames = n }
end

-- First frame in [a, b) that does not match with offset d, or nil.
function Conform:first_mismatch(a, b, d)
	for t = a, b - 1 do
		if not self:in_marker(t) and not self:frame_matches(t, d) then return t end
	end
	return nil
end

-- Handles the glitch starting at take frame g (offset d before it). Returns the take frame
-- from which offset d' holds, d', and where the old offset's segment ends.
function Conform:resync(g, d)
	local limit = math.min(self.take_frames - 1, g + MAX_RESYNC)
	-- Replaced samples are the common case and cheap to confirm: same offset, later frame.
	local quick = math.min(limit, g + MAX_REPLACED)
	local p = g + 1
	while p <= quick do
		if self:window_matches(p, d, MATCH_WINDOW) then
			self:add_glitch(g, "replaced", p - g)
			return p, d, nil
		end
		p = p + 1
	end
	p = g
	while p <= limit do
		local nd = self:search_offset(p, d, math.min(MAX_SHIFT, p - g + MATCH_WINDOW), MAX_SHIFT)
		if nd then
			-- Walk back to the first frame from which nd holds continuously.
			local b = p
			while b > g and (self:in_marker(b - 1) or self:frame_matches(b - 1, nd)) do b = b - 1 end
			if nd == d then
				self:add_glitch(g, "replaced", b - g)
				return b, nd, nil
			elseif nd > d then
				if b > g then self:add_glitch(g, "replaced", b - g) end
				self:add_glitch(b, "dropped", nd - d)
				return b, nd, b
			else
				local n = d - nd
				if b - g > n then self:add_glitch(g, "replaced", b - g - n) end
				self:add_glitch(b - n, "inserted", n)
				return b, nd, b - n
			end
		end
		p = p + MATCH_WINDOW
	end
	return nil
end

-- Conforms a take to a clean file. opts: take_marker (find_take_marker result or nil),
-- clean_marker_frame (clean-side frame of the marker or nil), clean_channel (0-based, for a
-- mono take of a multichannel clean file), take_id.
-- Returns the report (TEAM.md contract) or nil, error.
function core.conform(take_info, clean_info, opts)
	opts = opts or {}
	if take_info.rate ~= clean_info.rate then
		return nil, string.format("sample rate mismatch: take %d Hz, clean %d Hz", take_info.rate, clean_info.rate)
	end
	local self = setmetatable({}, Conform)
	self.take_frames, self.clean_frames, self.rate = take_info.frames, clean_info.frames, take_info.rate
	self.tol = core.conform_tolerance(core.format_bits(take_info))
	self.segments, self.glitches = {}, {}
	local clean_channel = opts.clean_channel
	if take_info.channels ~= clean_info.channels and clean_channel == nil then
		local m = opts.take_marker
		clean_channel = m and m.channel or 0
	end
	if clean_channel and clean_channel >= clean_info.channels then
		return nil, string.format("clean file has %d channels, channel %d asked for", clean_info.channels, clean_channel)
	end
	self.pairs = channel_pairs(take_info, clean_info, clean_channel)
	local err
	self.T, err = core.reader(take_info)
	if not self.T then return nil, err end
	self.C, err = core.reader(clean_info)
	if not self.C then self.T:close(); return nil, err end

	local d, start, alignment
	local m = opts.take_marker
	if m and opts.clean_marker_frame then
		self.marker_take_frame = m.frame
		d = opts.clean_marker_frame - m.frame
		start = m.frame
		alignment = "marker"
		-- The marker frames never match; make sure audio right after it does.
		local after = m.frame + MARKER_FRAMES
		if after < self.take_frames and not self:window_matches(after, d, MATCH_WINDOW) then d = nil end
	end
	if not d then
		local p = self:first_loud_frame(m and (m.frame + MARKER_FRAMES) or 0)
		if p then d = self:content_search(p) end
		if d then
			-- Extend backwards as far as the take keeps matching.
			start = p
			while start > 0 and (self:in_marker(start - 1) or self:frame_matches(start - 1, d)) do start = start - 1 end
		end
		alignment = "content"
	end
	if not d then
		self.T:close(); self.C:close()
		return nil, "no alignment found between take and clean file"
	end
	-- Frames before the first alignment that still have a clean counterpart belong to it.
	local seg_start = start
	while seg_start > 0 and seg_start + d > 0 do seg_start = seg_start - 1 end
	if seg_start + d < 0 then seg_start = -d end
	if seg_start < 0 then seg_start = 0 end

	local t = start
	local good = start
	local N = self.take_frames
	while t < N do
		-- the clean file may end before the take does
		if t + d >= self.clean_frames then break end
		local probe = t
		if self:in_marker(probe) or self:frame_matches(probe, d) then
			good = t
			t = t + CHECK_INTERVAL
		else
			local g = self:first_mismatch(good, t + 1, d) or t
			local b, nd, seg_end = self:resync(g, d)
			if not b then
				self:add_segment(seg_start, g, d)
				seg_start = nil
				break
			end
			if seg_end then
				self:add_segment(seg_start, seg_end, d)
				seg_start = b
			end
			d = nd
			good = b
			t = b + CHECK_INTERVAL
		end
	end
	if seg_start then
		-- Close the last segment where the take or the clean file ends; check the tail frames
		-- the sparse walk stepped over.
		local e = math.min(N, self.clean_frames - d)
		local g = self:first_mismatch(good, e, d)
		if g then
			local b, nd, seg_end = self:resync(g, d)
			if not b then
				self:add_segment(seg_start, g, d)
			elseif seg_end then
				self:add_segment(seg_start, seg_end, d)
				self:add_segment(b, math.min(N, self.clean_frames - nd), nd)
			else
				self:add_segment(seg_start, e, d)
			end
		else
			self:add_segment(seg_start, e, d)
		end
	end
	self.T:close(); self.C:close()
	return {
		take_id = opts.take_id or (m and m.take_id) or nil,
		clean_channel = clean_channel or -1,
		take_frames = N,
		rate = self.rate,
		alignment = alignment,
		segments = self.segments,
		glitches = self.glitches,
	}
end

return core
