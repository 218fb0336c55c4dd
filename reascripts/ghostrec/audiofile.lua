-- @noindex
-- ghostrec audio files (the Lua side of common/audiofile.c): RIFF/WAVE, RF64, Sony Wave64;
-- 8/16/24/32-bit PCM, 32/64-bit float, any channel count; sparse reads of frame ranges
-- (seek + read only what is needed). Samples are Lua numbers holding exactly the float32
-- value libsndfile gives the C side (PCM scaled by 2^-(bits-1), exact in float32 up to 24
-- bits). Pure Lua 5.3/5.4, no REAPER calls.
local M = {}

local spack, sunpack = string.pack, string.unpack

-- Rounds a number to the nearest float32, as C's float arithmetic does after each operation.
local function fround(x)
	return (sunpack("<f", spack("<f", x)))
end
M.fround = fround

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
		elseif id == "ltxt" and #sub >= 8 then
			-- a labelled region: cue id, sample length (gaps: docs/contracts.md "Gaps")
			local cue_id, length = sunpack("<I4I4", sub)
			info.regions[cue_id] = length
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
--       bext_description, cues {id, position, sample_offset, label, region}, labels,
--       regions (ltxt sample length by cue id).
function M.open_audio(path)
	local f, oerr = io.open(path, "rb")
	if not f then return nil, "cannot open " .. tostring(path) .. ": " .. tostring(oerr) end
	local file_size = f:seek("end")
	f:seek("set", 0)
	local head = f:read(40) or ""
	local info = { path = path, cues = {}, labels = {}, regions = {}, file_size = file_size }
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
	for _, c in ipairs(info.cues) do c.label, c.region = info.labels[c.id], info.regions[c.id] end
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

-- Are these raw bytes all zero (silence in every format but unsigned 8-bit)? A compare
-- with a string of zeros of the same length (memcmp speed; the last few lengths are kept).
local zeros = {}
local zeros_n = 0
function M.all_zero(bytes)
	local n = #bytes
	local z = zeros[n]
	if not z then
		if zeros_n >= 8 then zeros, zeros_n = {}, 0 end
		z = string.rep("\0", n)
		zeros[n] = z
		zeros_n = zeros_n + 1
	end
	return bytes == z
end

M.UNPACK_BATCH = UNPACK_BATCH
M.batch_format = batch_format

-- A reader over an opened file: keeps the handle, reads frame ranges on demand.
local Reader = {}
Reader.__index = Reader

function M.reader(info)
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

-- Raw bytes of frames [start, start + count) (0-based, clipped to the file) and the number of
-- whole frames they hold: what a block compare of two files in the same format looks at.
function Reader:raw(start, count)
	local info = self.info
	if start < 0 then count = count + start; start = 0 end
	if start + count > info.frames then count = info.frames - start end
	if count <= 0 then return "", 0 end
	self.f:seek("set", info.data_offset + start * info.block_align)
	local bytes = self.f:read(count * info.block_align)
	if not bytes then return "", 0 end
	return bytes, #bytes // info.block_align
end

-- Decodes `count` frames of raw bytes (from Reader:raw) into `out` (1-based, interleaved)
-- as Reader:read does; returns out. string.unpack is looked up per batch (C work a cost
-- model may want to count).
function Reader:decode(bytes, count, out)
	local letter, scale, u8 = self.letter, self.scale, self.u8
	local float32 = (letter == "f")
	local int32 = (letter == "i4")
	local total = count * self.info.channels
	local pos, n = 1, 0
	while n < total do
		local batch = total - n
		if batch > UNPACK_BATCH then batch = UNPACK_BATCH end
		local vals = { string.unpack(batch_format(letter, batch), bytes, pos) }
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
	end
	return out
end

-- Reads frames [start, start + count) (0-based) and returns a flat interleaved array
-- (1-based Lua table: frame i, channel c at [i * channels + c + 1]) and the frame count read.
-- If `channel` (0-based) is given, returns that channel only (index i + 1).
function Reader:read(start, count, channel)
	local info = self.info
	local bytes
	bytes, count = self:raw(start, count)
	local out = {}
	if count <= 0 then return out, 0 end
	if channel == nil or info.channels == 1 then
		return self:decode(bytes, count, out), count -- (a mono file's only channel is the whole file)
	end
	-- One channel of an interleaved file: a few channels are decoded in batches and the
	-- column picked out (fewer C calls); many channels unpack that column only.
	local ch = info.channels
	if ch <= 8 then
		local all = self:decode(bytes, count, self.scratch or {})
		self.scratch = all
		local j = channel + 1
		for i = 1, count do
			out[i] = all[j]
			j = j + ch
		end
		return out, count
	end
	local letter, scale, u8 = self.letter, self.scale, self.u8
	local float32 = (letter == "f")
	local int32 = (letter == "i4")
	local fmt1 = "<" .. letter
	local stride = info.block_align
	local pos = 1 + channel * info.bytes_per_sample
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
function M.format_bits(info)
	if info.float then return 32 end
	return info.bits
end

return M
