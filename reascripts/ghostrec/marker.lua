-- @noindex
-- ghostrec sync marker decoder: a translation of common/marker.c, plus finding the marker
-- in the head of a REAPER take file. Pure Lua 5.3/5.4.
local audiofile = require("ghostrec.audiofile")

local M = {}

local floor = math.floor
local fround = audiofile.fround

---------------------------------------------------------------------------------------------
-- Sync marker decoder (translation of common/marker.c)
---------------------------------------------------------------------------------------------

local MARKER_PREAMBLE_FRAMES = 32
local MARKER_PAYLOAD_BITS = 56
local MARKER_FRAMES = MARKER_PREAMBLE_FRAMES + 2 * MARKER_PAYLOAD_BITS
local MARKER_MIN_AMPLITUDE = 1.0 / 256.0
M.MARKER_FRAMES = MARKER_FRAMES
M.MARKER_PREAMBLE_FRAMES = MARKER_PREAMBLE_FRAMES

local marker_preamble = {
	[0] = 1, 0, -1, 0, 1, 1, 0, -1, -1, 0, 1, 0, 0, -1, 1, 0,
	-1, 0, 0, 1, -1, 0, 1, 1, 0, 0, -1, 1, 0, -1, 0, 1,
}
M.marker_preamble = marker_preamble

function M.crc16_ccitt(bytes)
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
	local crc = M.crc16_ccitt(b)
	b[6] = crc >> 8
	b[7] = crc & 0xff
	return b
end

-- Symbols (-1, 0, +1) of a marker, 0-based table of MARKER_FRAMES entries.
function M.marker_symbols(take_id, channel)
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

function M.marker_tolerance(bits)
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
function M.marker_decode_at(s, base, avail, stride, tol)
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
	if M.crc16_ccitt({ bytes[1], bytes[2], bytes[3], bytes[4], bytes[5] }) ~= crc then return nil end

	return {
		take_id = (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4],
		channel = bytes[5],
		frame = 0,
		amplitude = a,
	}
end

-- Scans frames [0, n) of s (frame i at s[base + i * stride]) for the first valid marker.
function M.marker_find(s, base, n, stride, tol)
	if n < MARKER_FRAMES then return nil end
	local pre = MARKER_MIN_AMPLITUDE * 0.5
	for i = 0, n - MARKER_FRAMES do
		local at = base + i * stride
		local a0 = s[at]
		-- Cheap pre-checks before the full decode: +A then 0 then -A.
		if not (a0 < pre) and within(s[at + stride], tol) and within(s[at + 2 * stride] + a0, tol) then
			local m = M.marker_decode_at(s, at, n - i, stride, tol)
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

local MARKER_SCAN_CHUNK = 16384 -- frames: one chunk is a few ms of lua5.4 (a UI slice holds several)

-- Scans frames [0, n) of one take channel for the first marker, reading in chunks so a
-- marker near the start costs little; same result as ghostrec_marker_find over the whole
-- head (candidates up to n - MARKER_FRAMES, first one wins).
local function marker_find_channel(rd, channel, n, tol, progress)
	local last = n - MARKER_FRAMES -- last candidate frame
	local cs = 0
	while cs <= last do
		local ce = math.min(cs + MARKER_SCAN_CHUNK, last + 1) -- candidates [cs, ce)
		-- A marker starts with +A: nothing starts in a chunk that is all zero bytes (silence
		-- in every format but unsigned 8-bit).
		local raw = rd:raw(cs, ce - cs)
		if rd.u8 or not audiofile.all_zero(raw) then
			local data, got = rd:read(cs, ce - cs + MARKER_FRAMES - 1, channel)
			local m = M.marker_find(data, 1, got, 1, tol)
			if m and m.frame < ce - cs then
				m.frame = m.frame + cs
				return m
			end
		end
		cs = ce
		if progress then progress(cs, n) end
	end
	return nil
end

-- The marker in the head of a take file: the first take channel that has one wins.
-- Returns {take_id, channel (payload), frame, take_channel, amplitude} or nil.
-- tol defaults to the take format's marker tolerance; progress(done, total) is called
-- between chunks; frames, when given, is the head length in frames (instead of seconds).
function M.find_take_marker(info, seconds, tol, progress, frames)
	local rd, err = audiofile.reader(info)
	if not rd then return nil, err end
	local n = math.min(info.frames, frames or floor((seconds or 60) * info.rate))
	tol = fround(tol or M.marker_tolerance(audiofile.format_bits(info)))
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

return M
