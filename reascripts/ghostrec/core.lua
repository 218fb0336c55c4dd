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
			elseif letter == "d" then
				for i = 1, batch do out[n + i] = fround(vals[i]) end
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
		return out, count -- (a mono file's only channel is the whole file)
	end
	-- One channel of an interleaved file: unpack that column only.
	local fmt1 = "<" .. letter
	local stride = info.block_align
	local pos = 1 + channel * bps
	for i = 1, count do
		local v = sunpack(fmt1, bytes, pos)
		if float32 then
			out[i] = v
		elseif letter == "d" then
			out[i] = fround(v)
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
	if letter == "f" then return v end
	if letter == "d" then return fround(v) end
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

local MARKER_SCAN_CHUNK = 65536

-- Scans frames [0, n) of one take channel for the first marker, reading in chunks so a
-- marker near the start costs little; same result as ghostrec_marker_find over the whole
-- head (candidates up to n - MARKER_FRAMES, first one wins).
local function marker_find_channel(rd, channel, n, tol, progress)
	local last = n - MARKER_FRAMES -- last candidate frame
	local cs = 0
	while cs <= last do
		local ce = math.min(cs + MARKER_SCAN_CHUNK, last + 1) -- candidates [cs, ce)
		local data, got = rd:read(cs, ce - cs + MARKER_FRAMES - 1, channel)
		local m = core.marker_find(data, 1, got, 1, tol)
		if m and m.frame < ce - cs then
			m.frame = m.frame + cs
			return m
		end
		cs = ce
		if progress then progress(cs, n) end
	end
	return nil
end

-- The marker in the head of a take file: the first take channel that has one wins.
-- Returns {take_id, channel (payload), frame, take_channel, amplitude} or nil.
-- tol defaults to the take format's marker tolerance; progress(done, total) is called
-- between chunks.
function core.find_take_marker(info, seconds, tol, progress)
	local rd, err = core.reader(info)
	if not rd then return nil, err end
	local n = math.min(info.frames, floor((seconds or 60) * info.rate))
	tol = fround(tol or core.marker_tolerance(core.format_bits(info)))
	local found
	if n >= MARKER_FRAMES then
		for k = 0, info.channels - 1 do
			found = marker_find_channel(rd, k, n, tol, progress)
			if found then
				found.take_channel = k
				break
			end
		end
	end
	rd:close()
	return found
end

-- The clean file's ghostrec facts as ghostrec-sync reads them (read_clean_meta): the bext
-- description "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>" of a RIFF or
-- RF64 file, else the sidecar ghostrec-<id>.json next to a file named ghostrec-<id>...
-- Returns {valid, take_id, marker_frame, source = "bext"|"sidecar"}.
function core.clean_meta(info)
	local meta = { valid = false }
	local desc = info.bext_description
	if (info.container == "wav" or info.container == "rf64") and type(desc) == "string" then
		local id, mf, rate, ch = desc:match(
			"^ghostrec%s*take_id=%s*(%d+)%s*marker_frame=%s*(%d+)%s*rate=%s*(%d+)%s*channels=%s*(%d+)")
		if id and tonumber(id) <= 0xffffffff then
			meta.valid, meta.take_id, meta.marker_frame, meta.source = true, tonumber(id), tonumber(mf), "bext"
			return meta
		end
	end
	local dir, base = info.path:match("^(.-)([^/]*)$")
	local id = base:match("^ghostrec%-(%d+)")
	if id and tonumber(id) <= 0xffffffff then
		local f = io.open(dir .. "ghostrec-" .. tonumber(id) .. ".json", "rb")
		if f then
			local sc = core.parse_sidecar_json(f:read("a"))
			f:close()
			if sc and sc.take_id and sc.marker_frame and sc.marker_frame >= 0 then
				meta.valid, meta.take_id, meta.marker_frame, meta.source = true, sc.take_id, sc.marker_frame, "sidecar"
			end
		end
	end
	return meta
end

---------------------------------------------------------------------------------------------
-- Conform engine: a line-by-line translation of common/conform.c (same function names and
-- order). Frame arithmetic is integer; comparisons are in double precision like the C.
-- Only the two hot loops that scan the clean file for one take frame (find_anchor and the
-- drop search in reacquire) read the clean file in blocks instead of frame by frame; they
-- return the same first match the C loops do.
---------------------------------------------------------------------------------------------

local GLITCH_REPLACED, GLITCH_DROPPED, GLITCH_INSERTED = 0, 1, 2
local ALIGN_MARKER, ALIGN_CONTENT = 0, 1
local glitch_kind_names = { [0] = "replaced", [1] = "dropped", [2] = "inserted" }

-- A verification window must see this many non-silent take samples (summed over the
-- compared channels) that all match before an alignment is believed.
local WINDOW_NONSILENT = 32
-- ... looking at most this many frames ahead for them.
local WINDOW_MAX_FRAMES = 4096
-- At the very end of the take fewer samples are all there is; accept this many.
local WINDOW_TAIL_NONSILENT = 8
-- Content search: candidate take positions this far apart, at most this many tried.
local ANCHOR_STEP = 4096
local ANCHOR_TRIES = 16
core.CONFORM_CHECK_STEP = 16

function core.glitch_kind_name(kind)
	return glitch_kind_names[kind] or "inserted"
end

-- ---- results ----

local function add_segment(e, take_start, take_end, d)
	if take_end <= take_start then return end
	local r = e.res
	r.segments[#r.segments + 1] = { take_start = take_start, take_end = take_end, clean_start = take_start + d }
end

local function add_glitch(e, take_frame, kind, frames)
	if frames <= 0 then return end
	local r = e.res
	r.glitches[#r.glitches + 1] = { take_frame = take_frame, kind = glitch_kind_names[kind], frames = frames }
end

-- ---- comparing frames ----

-- The larger of the two formats' quantization allowances (marker tolerance).
function core.conform_tolerance(take_info, clean_info)
	local a = core.marker_tolerance(core.format_bits(take_info))
	local b = core.marker_tolerance(core.format_bits(clean_info))
	return a > b and a or b
end

local function sample_matches(x, y, tol)
	return abs(x - y) <= tol
end

local function marker_fits(e, i, x)
	local s = e.marker_sym[i]
	if s == 0 then return abs(x) <= e.tol end
	if e.marker_sign_known[i] then return sample_matches(x, s * e.marker_amp, e.tol) end
	return sample_matches(abs(x), e.marker_amp, e.tol)
end

-- Take frame t against clean frame c, all compared channels.
local function frame_matches(e, t, c)
	if t < 0 or t >= e.take_frames or c < 0 or c >= e.clean_frames then return false end
	-- A decoded marker in the take: those frames carry no clean audio; trust them.
	if e.marker_take >= 0 and t >= e.marker_take and t < e.marker_take + MARKER_FRAMES then return true end
	local T, C = e.take, e.clean
	local n = e.take_channels < 64 and e.take_channels or 64
	local in_marker = e.marker_clean >= 0 and c >= e.marker_clean and c < e.marker_clean + MARKER_FRAMES
	local tol = e.tol
	for k = 0, n - 1 do
		local x = T:sample(t, k)
		if x == nil then return false end
		local y = C:sample(c, e.clean_channel + k)
		if y == nil then return false end
		if not (abs(x - y) <= tol) then
			if not (in_marker and marker_fits(e, c - e.marker_clean, x)) then return false end
		end
	end
	return true
end

-- Number of take samples in frame t louder than the tolerance.
local function frame_nonsilent(e, t)
	local count = 0
	for k = 0, e.take_channels - 1 do
		local x = e.take:sample(t, k)
		if x == nil then return 0 end
		if abs(x) > e.tol then count = count + 1 end
	end
	return count
end

-- Verification window: frames from (t, c) on all match until WINDOW_NONSILENT non-silent
-- take samples have been seen.
local function window_matches(e, t, c)
	local nonsilent = 0
	for i = 0, WINDOW_MAX_FRAMES - 1 do
		if t + i >= e.take_frames then return nonsilent >= WINDOW_TAIL_NONSILENT end
		if not frame_matches(e, t + i, c + i) then return false end
		nonsilent = nonsilent + frame_nonsilent(e, t + i)
		if nonsilent >= WINDOW_NONSILENT then return true end
	end
	return false
end

-- Is there enough sound after take frame t for a window to prove anything?
local function window_has_sound(e, t)
	local nonsilent = 0
	local i = 0
	while i < WINDOW_MAX_FRAMES and t + i < e.take_frames do
		nonsilent = nonsilent + frame_nonsilent(e, t + i)
		if nonsilent >= WINDOW_NONSILENT then return true end
		i = i + 1
	end
	return false
end

-- First clean frame c in [c_from, c_to) with frame_matches(e, t, c) and
-- window_matches(e, t, c), or nil: the C loops `for (c ...) if (frame_matches &&
-- window_matches)`, with the frame test done on clean blocks read at once.
local SCAN_BLOCK = 16384
local function scan_clean(e, t, c_from, c_to)
	if c_from < 0 then c_from = 0 end
	if c_to > e.clean_frames then c_to = e.clean_frames end
	if t < 0 or t >= e.take_frames then return nil end
	if e.marker_take >= 0 and t >= e.marker_take and t < e.marker_take + MARKER_FRAMES then
		for c = c_from, c_to - 1 do
			if frame_matches(e, t, c) and window_matches(e, t, c) then return c end
		end
		return nil
	end
	local n = e.take_channels < 64 and e.take_channels or 64
	local x = {}
	for k = 0, n - 1 do
		x[k] = e.take:sample(t, k)
		if x[k] == nil then return nil end
	end
	local tol, cc, ch0 = e.tol, e.clean_channels, e.clean_channel
	local mc = e.marker_clean
	local C = e.clean
	local x0 = x[0]
	local cs = c_from
	while cs < c_to do
		local cnt = c_to - cs
		if cnt > SCAN_BLOCK then cnt = SCAN_BLOCK end
		local blk, got = C:read(cs, cnt)
		for i = 0, got - 1 do
			local base = i * cc + ch0 + 1
			local c = cs + i
			local in_marker = mc >= 0 and c >= mc and c < mc + MARKER_FRAMES
			local y = blk[base]
			local ok = abs(x0 - y) <= tol or (in_marker and marker_fits(e, c - mc, x0))
			if ok then
				for k = 1, n - 1 do
					local xk = x[k]
					if not (abs(xk - blk[base + k]) <= tol or (in_marker and marker_fits(e, c - mc, xk))) then
						ok = false
						break
					end
				end
				if ok and window_matches(e, t, c) then return c end
			end
		end
		if got < cnt then return nil end
		cs = cs + cnt
	end
	return nil
end

-- ---- first alignment ----

-- Content search: the first take position t0 in [t_from, t_to) (ANCHOR_STEP apart, silent
-- ones skipped) whose window matches somewhere in the clean file. Returns t0, d or nil.
local function find_anchor(e, t_from, t_to, try_channels)
	local tries = 0
	local first_channel = try_channels and 0 or e.clean_channel
	local last_channel = try_channels and (e.clean_channels - e.take_channels) or e.clean_channel
	local t0 = t_from
	while t0 < t_to and tries < ANCHOR_TRIES do
		if window_has_sound(e, t0) then
			tries = tries + 1
			for ch = first_channel, last_channel do
				e.clean_channel = ch
				local c = scan_clean(e, t0, 0, e.clean_frames)
				if c then return t0, c - t0 end
			end
			e.clean_channel = first_channel
		end
		t0 = t0 + ANCHOR_STEP
	end
	return nil
end

-- Looks for the marker in the head of every take channel.
local function find_take_marker(e, scan)
	local n = e.take_frames < scan and e.take_frames or scan
	if n < MARKER_FRAMES then return nil end
	return core.find_take_marker(e.take.info, n / e.take.info.rate, e.tol)
end

-- Extends an alignment backwards from take frame `from` while frames match.
local function extend_back(e, from, d)
	local s = from
	while s > 0 and s - 1 + d >= 0 and frame_matches(e, s - 1, s - 1 + d) do s = s - 1 end
	return s
end

-- ---- re-acquisition after a mismatch ----

-- First differing frame in [lo, hi]; hi is known to differ, everything before lo matched.
local function first_bad(e, lo, hi, d)
	while lo < hi do
		local mid = lo + (hi - lo) // 2
		if frame_matches(e, mid, mid + d) then lo = mid + 1 else hi = mid end
	end
	return lo
end

-- Earliest (t2 >= f, d2) where the take lines up with the clean file again: a drop first,
-- then frame by frame after f the end of a replaced run or of an insertion, last a
-- content search. Returns t2, d2 or nil.
local function reacquire(e, f, d)
	-- for (n = 1; n <= max_shift && f + d + n < clean_frames; n++)
	local c = scan_clean(e, f, f + d + 1, math.min(f + d + e.max_shift, e.clean_frames - 1) + 1)
	if c then return f, c - f end
	local t = f + 1
	while t <= f + e.max_shift and t < e.take_frames do
		if frame_matches(e, t, t + d) and window_matches(e, t, t + d) then return t, d end
		if frame_matches(e, t, f + d) and window_matches(e, t, f + d) then return t, f + d - t end
		t = t + 1
	end
	local t2, d2 = find_anchor(e, f + 1, e.take_frames, false)
	if t2 then return t2, d2 end
	return nil
end

-- Records what happened between the first differing frame f (offset e.d) and the
-- re-acquired alignment (t2, d2); moves the walk on to t2.
local function record_glitch(e, f, t2, d2)
	local d = e.d
	if d2 == d then
		add_glitch(e, f, GLITCH_REPLACED, t2 - f)
	elseif d2 > d then
		-- Clean frames are missing; anything odd before t2 still maps with the old d.
		add_glitch(e, f, GLITCH_REPLACED, t2 - f)
		add_segment(e, e.seg_start, t2, d)
		add_glitch(e, t2, GLITCH_DROPPED, d2 - d)
		e.seg_start = t2
	else
		local n = d - d2
		if t2 - f >= n then
			-- The last n frames before t2 are the extra ones.
			add_glitch(e, f, GLITCH_REPLACED, t2 - n - f)
			add_segment(e, e.seg_start, t2 - n, d)
			add_glitch(e, t2 - n, GLITCH_INSERTED, n)
		else
			-- The take repeats clean audio it already had: [f, t2) has no place.
			add_segment(e, e.seg_start, f, d)
			add_glitch(e, f, GLITCH_INSERTED, t2 - f)
		end
		e.seg_start = t2
	end
	e.d = d2
end

-- The mismatch at f could not be explained: replaced audio up to the end if the rest is
-- short and fits the clean file, else no known clean counterpart. Returns the segment end.
local function unexplained_tail(e, f)
	local rest = e.take_frames - f
	if rest <= WINDOW_MAX_FRAMES and e.take_frames + e.d <= e.clean_frames then
		local last = e.take_frames - 1
		while last > f and frame_matches(e, last, last + e.d) do last = last - 1 end
		add_glitch(e, f, GLITCH_REPLACED, last + 1 - f)
		return e.take_frames
	end
	return f
end

-- ---- the walk ----

local function walk(e, t)
	e.seg_start = t
	while true do
		local limit = e.clean_frames - e.d
		if limit > e.take_frames then limit = e.take_frames end
		if t >= limit then break end
		if e.opt.progress and t >= e.next_progress then
			e.opt.progress(t, e.take_frames)
			e.next_progress = t + 1048576
		end
		local q = t + e.check_step
		if q > limit then q = limit end
		q = q - 1
		if frame_matches(e, q, q + e.d) then
			t = q + 1
		else
			local f = first_bad(e, t, q, e.d)
			local t2, d2 = reacquire(e, f, e.d)
			if not t2 then
				t = unexplained_tail(e, f)
				break
			end
			record_glitch(e, f, t2, d2)
			t = t2
		end
	end
	add_segment(e, e.seg_start, t, e.d)
end

-- ---- entry point ----

local function set_marker_symbols(e, take_id, amp)
	e.marker_sym = core.marker_symbols(take_id, 0)
	e.marker_sign_known = {}
	for i = 0, MARKER_FRAMES - 1 do
		-- Preamble and the 32 take-id bits (64 symbols) do not depend on the channel.
		e.marker_sign_known[i] = i < MARKER_PREAMBLE_FRAMES + 64
	end
	e.marker_amp = amp
end

-- Runs the engine (ghostrec_conform_run). take_info / clean_info from core.open_audio;
-- meta = core.clean_meta(clean_info) (or nil); opt: check_step, max_shift, marker_scan
-- (frames), progress(done, total). Returns the result or nil, one-line reason.
-- result: alignment ("marker"|"content"), take_id (nil when unknown), clean_channel,
-- take_frames, rate, segments, glitches: the report contract.
function core.conform_run(take_info, clean_info, meta, opt)
	opt = opt or {}
	local ti, ci = take_info, clean_info
	local res = { segments = {}, glitches = {}, take_frames = ti.frames, rate = ti.rate, clean_channel = 0 }
	if ti.rate ~= ci.rate then
		return nil, string.format("sample rate mismatch: take %d Hz, clean %d Hz", ti.rate, ci.rate)
	end
	if ti.channels > ci.channels or ti.channels > 64 then
		return nil, string.format("take has %d channels, clean file only %d", ti.channels, ci.channels)
	end

	local e = {}
	local err
	e.take, err = core.reader(ti)
	if not e.take then return nil, err end
	e.clean, err = core.reader(ci)
	if not e.clean then e.take:close(); return nil, err end
	e.take_frames = ti.frames
	e.clean_frames = ci.frames
	e.take_channels = ti.channels
	e.clean_channels = ci.channels
	e.clean_channel = 0
	e.tol = core.conform_tolerance(ti, ci)
	e.marker_take = -1
	e.marker_clean = -1
	e.marker_amp = 0
	e.check_step = (opt.check_step and opt.check_step > 0) and opt.check_step or core.CONFORM_CHECK_STEP
	e.max_shift = (opt.max_shift and opt.max_shift > 0) and opt.max_shift or 2 * ti.rate
	e.opt = opt
	e.next_progress = 0
	e.res = res
	local scan = (opt.marker_scan and opt.marker_scan > 0) and opt.marker_scan or 60 * ti.rate

	local function finish(ok_or_nil, why)
		e.take:close()
		e.clean:close()
		if ok_or_nil == nil then return nil, why end
		return ok_or_nil
	end

	local m = find_take_marker(e, scan)
	local have_marker = m ~= nil
	if have_marker then
		res.take_id = m.take_id
		e.marker_take = m.frame
		e.marker_amp = m.amplitude
	elseif meta and meta.valid then
		res.take_id = meta.take_id
	end

	-- Which clean channels to compare: all if the counts agree; for a take with fewer
	-- channels, the marker's channel index, else found by content below.
	local channel_known = ti.channels == ci.channels
	if not channel_known and have_marker and m.channel + ti.channels <= ci.channels then
		e.clean_channel = m.channel
		channel_known = true
	end

	local anchor, d = -1, 0
	local meta_usable = meta and meta.valid and meta.marker_frame >= 0 and meta.marker_frame < ci.frames
	if have_marker and meta_usable and meta.take_id == m.take_id and channel_known then
		anchor = e.marker_take
		d = meta.marker_frame - e.marker_take
		res.alignment = "marker"
	else
		if not have_marker and meta_usable then
			-- The marker was in the take but a glitch destroyed it: recognise what is left
			-- of it where the metadata says it was.
			e.marker_clean = meta.marker_frame
			set_marker_symbols(e, meta.take_id, 0.25)
		end
		local t0 = have_marker and (e.marker_take + MARKER_FRAMES) or 0
		local a, dd = find_anchor(e, t0, e.take_frames, not channel_known)
		if not a and t0 > 0 then a, dd = find_anchor(e, 0, t0, not channel_known) end
		if not a then
			return finish(nil, "no alignment found: the take's audio does not occur in the clean file")
		end
		anchor, d = a, dd
		res.alignment = "content"
	end

	-- Head: a glitch before the anchor (in the pre-roll) stops the backward extension;
	-- then an earlier content anchor, if any, becomes the start of the walk.
	local start = extend_back(e, anchor, d)
	while start > 0 and start - 1 + d >= 0 do
		local a2, d2 = find_anchor(e, 0, start - 1, false)
		if not a2 then break end
		d = d2
		start = extend_back(e, a2, d)
	end

	res.clean_channel = e.clean_channel
	e.d = d
	walk(e, start)
	return finish(res)
end

-- The report JSON (contract: TEAM.md "Conform report"), same layout as ghostrec-sync.
function core.report_json(r)
	local out = {}
	out[#out + 1] = string.format('{"take_id": %s, "clean_channel": %d, "take_frames": %d, "rate": %d, "alignment": "%s",\n',
		r.take_id and string.format("%d", r.take_id) or "null", r.clean_channel, r.take_frames, r.rate, r.alignment)
	out[#out + 1] = ' "segments": ['
	for i, s in ipairs(r.segments) do
		out[#out + 1] = string.format('%s\n  {"take_start": %d, "take_end": %d, "clean_start": %d}', i > 1 and "," or "",
			s.take_start, s.take_end, s.clean_start)
	end
	out[#out + 1] = '],\n "glitches": ['
	for i, g in ipairs(r.glitches) do
		out[#out + 1] = string.format('%s\n  {"take_frame": %d, "kind": "%s", "frames": %d}', i > 1 and "," or "",
			g.take_frame, g.kind, g.frames)
	end
	out[#out + 1] = ']}\n'
	return table.concat(out)
end

-- Parses a report JSON (ghostrec-sync --report) into the same table shape.
function core.parse_report(text)
	local r = { segments = {}, glitches = {} }
	local id = text:match('"take_id"%s*:%s*(%d+)')
	r.take_id = id and tonumber(id) or nil
	r.clean_channel = tonumber(text:match('"clean_channel"%s*:%s*(%-?%d+)'))
	r.take_frames = tonumber(text:match('"take_frames"%s*:%s*(%d+)'))
	r.rate = tonumber(text:match('"rate"%s*:%s*(%d+)'))
	r.alignment = text:match('"alignment"%s*:%s*"(%a+)"')
	for a, b, c in text:gmatch('{%s*"take_start"%s*:%s*(%-?%d+)%s*,%s*"take_end"%s*:%s*(%-?%d+)%s*,%s*"clean_start"%s*:%s*(%-?%d+)%s*}') do
		r.segments[#r.segments + 1] = { take_start = tonumber(a), take_end = tonumber(b), clean_start = tonumber(c) }
	end
	for a, k, n in text:gmatch('{%s*"take_frame"%s*:%s*(%-?%d+)%s*,%s*"kind"%s*:%s*"(%a+)"%s*,%s*"frames"%s*:%s*(%-?%d+)%s*}') do
		r.glitches[#r.glitches + 1] = { take_frame = tonumber(a), kind = k, frames = tonumber(n) }
	end
	return r
end

return core
