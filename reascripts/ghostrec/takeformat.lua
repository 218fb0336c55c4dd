-- @noindex
-- ghostrec take format: the clean audio in a 16/24-bit take's own integers, so the replaced
-- take nulls against the recording. A line-by-line translation of the integer part of
-- common/conform_render.c (conventions, learn_convention), pure Lua 5.3/5.4.
--
-- REAPER stores arriving float samples as integers with its own scaling (x 2^(n-1) or
-- x (2^(n-1) - 1)); played against the float clean file, a take frame REAPER recorded
-- undamaged would differ by up to an LSB. The convention is learned from the take frames
-- that match their clean frames (the conform report's segments), and the clean channels
-- the take plays are written with it: at every undamaged frame that file holds the take's
-- integers exactly, and repaired frames use the same convention.
--
-- API:
--   M.takes_integers(take_info) -> true for 16/24-bit integer takes (what this is for)
--   M.learn_convention(report, take_info, clean_info[, opt]) -> conv (M.CONV_*)
--   M.convert(conv, bits, x) -> the n-bit integer for float sample x
--   M.file_name(take_id, clean_channel, channels, bits, conv) -> "ghostrec-<id>-ch<c>x<n>-<bits>bit-<conv>.wav"
--   M.write_clean_as_take(report, take_info, clean_info, conv, path[, opt]) -> true | nil, err
--     every clean frame, channels report.clean_channel .. + take channels - 1, as a WAV
--     (RF64 past 4 GiB) with the take's rate and bits; opt.yield() between blocks.
local audiofile = require("ghostrec.audiofile")

local M = {}

local spack, sunpack = string.pack, string.unpack
local floor = math.floor

-- Float -> n-bit integer conventions (the sample value k, clipped to n bits); the numbers
-- are conform_render.c's.
M.CONV_SNDFILE_CLIP = 0   -- libsndfile with clipping: lrintf(x * 2^31) >> (32 - n) (float)
M.CONV_ROUND_POW2 = 1     -- round(x * 2^(n-1))
M.CONV_ROUND_POW2M1 = 2   -- round(x * (2^(n-1) - 1))
M.CONV_SNDFILE_NOCLIP = 3 -- libsndfile without clipping: lrintf(x * (2^(n-1) - 1)) (float)
M.CONV_POW2_HALF_UP = 4   -- floor(x * 2^(n-1) + 0.5): ties up
M.CONV_POW2_HALF_AWAY = 5 -- round(x * 2^(n-1)): ties away from zero (C's round)
local CONV_COUNT = 6
M.CONV_NAMES = { [0] = "sfclip", [1] = "pow2", [2] = "pow2m1", [3] = "sfnoclip", [4] = "pow2up", [5] = "pow2away" }

local function fround(x)
	return (sunpack("<f", spack("<f", x)))
end

-- Round half to even for |v| < 2^51, as lrint in the default rounding mode (adding and
-- removing 1.5 * 2^52 leaves the rounded integer; Lua floats are doubles).
local ROUND_MAGIC = 6755399441055744.0
local function round_even(v)
	return floor((v + ROUND_MAGIC) - ROUND_MAGIC)
end

function M.convert(conv, bits, x)
	local lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
	local k
	if conv == 0 then
		local v = x * 2147483648.0 -- exact in float: a power of two
		if v >= 2147483648.0 then return hi end
		if v <= -2147483648.0 then return lo end
		k = round_even(v) // (1 << (32 - bits)) -- arithmetic shift
	elseif conv == 1 then
		k = round_even(x * (1 << (bits - 1)))
	elseif conv == 2 then
		k = round_even(x * hi)
	elseif conv == 4 then
		k = floor(x * (1 << (bits - 1)) + 0.5)
	elseif conv == 5 then
		local v = x * (1 << (bits - 1))
		if v < 0 then k = -floor(-v + 0.5) else k = floor(v + 0.5) end
	else
		k = round_even(fround(x * hi))
	end
	if k < lo then return lo end
	if k > hi then return hi end
	return k
end
local convert = M.convert

function M.takes_integers(info)
	return not info.float and (info.bits == 16 or info.bits == 24)
end

-- The take's own integer for a sample read as float (exactly k / 2^(n-1)).
local function take_int(bits, x)
	return floor(x * (1 << (bits - 1)))
end

-- Learns the take's convention from up to LEARN_SAMPLES samples where the conventions
-- disagree, taken from segment frames (take frame vs its clean frame). Ties and no
-- evidence keep CONV_SNDFILE_CLIP.
local LEARN_SAMPLES = 65536
local RENDER_BLOCK = 65536
local LEARN_READ = 8192

function M.learn_convention(report, ti, ci, opt)
	opt = opt or {}
	local bits = ti.bits
	local T, terr = audiofile.reader(ti)
	if not T then return M.CONV_SNDFILE_CLIP, terr end
	local C, cerr = audiofile.reader(ci)
	if not C then T:close(); return M.CONV_SNDFILE_CLIP, cerr end
	local votes = { [0] = 0, 0, 0, 0, 0, 0 }
	local seen = 0
	local tch, cch, ch0 = ti.channels, ci.channels, report.clean_channel
	local hit = {}
	for _, s in ipairs(report.segments) do
		if seen >= LEARN_SAMPLES then break end
		local d = s.clean_start - s.take_start
		local b0 = s.take_start
		while b0 < s.take_end and seen < LEARN_SAMPLES do
			local n = s.take_end - b0 < RENDER_BLOCK and s.take_end - b0 or RENDER_BLOCK
			-- the block read and decoded LEARN_READ frames at a time (a slice between two
			-- yields stays short); a file shorter than the block: no convention, as before
			local f0 = 0
			while f0 < n do
				local m = n - f0 < LEARN_READ and n - f0 or LEARN_READ
				local tb, tn = T:read(b0 + f0, m)
				local cb, cn = C:read(b0 + f0 + d, m)
				if tn ~= m or cn ~= m then
					T:close(); C:close()
					return M.CONV_SNDFILE_CLIP
				end
				for i = 0, m - 1 do
					if opt.yield and (f0 + i) % 512 == 511 then opt.yield() end
					for k = 0, tch - 1 do
						local want = take_int(bits, tb[i * tch + k + 1])
						local x = cb[i * cch + ch0 + k + 1]
						local c0 = convert(0, bits, x)
						local differ = false
						for c = 0, CONV_COUNT - 1 do
							local v = c == 0 and c0 or convert(c, bits, x)
							hit[c] = v == want
							if v ~= c0 then differ = true end
						end
						if differ then
							for c = 0, CONV_COUNT - 1 do
								if hit[c] then votes[c] = votes[c] + 1 end
							end
							seen = seen + 1
						end
					end
				end
				f0 = f0 + m
				if opt.yield and f0 < n then opt.yield() end
			end
			b0 = b0 + RENDER_BLOCK
			if opt.yield then opt.yield() end
		end
	end
	T:close()
	C:close()
	local best = M.CONV_SNDFILE_CLIP
	for c = 1, CONV_COUNT - 1 do
		if votes[c] > votes[best] then best = c end
	end
	return best
end

function M.file_name(take_id, clean_channel, channels, bits, conv)
	return string.format("ghostrec-%d-ch%dx%d-%dbit-%s.wav", take_id, clean_channel, channels, bits, M.CONV_NAMES[conv])
end

-- RIFF/WAVE header for `frames` frames of `channels` x `bits` PCM (RF64 with a ds64 chunk
-- when the data does not fit in 4 GiB).
local function wav_header(rate, channels, bits, frames)
	local block = channels * bits // 8
	local data = frames * block
	local fmt = spack("<c4I4I2I2I4I4I2I2", "fmt ", 16, 1, channels, rate, rate * block, block, bits)
	if data + 36 <= 0xFFFFFFFF then
		return "RIFF" .. spack("<I4", 36 + data) .. "WAVE" .. fmt .. "data" .. spack("<I4", data)
	end
	local ds64 = spack("<c4I4I8I8I8I4", "ds64", 28, 36 + 28 + 8 + data, data, frames, 0)
	return "RF64" .. spack("<I4", 0xFFFFFFFF) .. "WAVE" .. ds64 .. fmt .. "data" .. spack("<I4", 0xFFFFFFFF)
end

-- Size in bytes of the file write_clean_as_take writes (a finished one is reused).
function M.file_bytes(ti, ci)
	return #wav_header(ti.rate, ti.channels, ti.bits, ci.frames) + ci.frames * ti.channels * ti.bits // 8
end

local WRITE_BLOCK = 2048 -- frames between two opt.yield calls
local PACK_BATCH = 2048

-- Scale, offset and shift per convention, so one loop converts every sample of the take:
-- k = floor((x * scale + MAGIC) - MAGIC) // div, clipped; sndfile's no-clip rounds the
-- product to float first (fr).
local function conv_params(conv, bits)
	if conv == 0 then return 2147483648.0, 1 << (32 - bits), false end
	if conv == 1 or conv >= 4 then return 1.0 * (1 << (bits - 1)), 1, false end
	if conv == 2 then return 1.0 * ((1 << (bits - 1)) - 1), 1, false end
	return 1.0 * ((1 << (bits - 1)) - 1), 1, true
end

-- The common conventions as one expression of a clean sample (a string.unpack letter's
-- value) that string.pack takes as the n-bit integer: the same arithmetic as the loop in
-- write_clean_as_take, without the clipping (a value out of range, or NaN, makes
-- string.pack raise: then that block goes through the loop). nil: the loop only.
local function fast_expression(conv)
	if conv == 0 then return "((%s * scale + M) - M) // div" end
	if conv == 1 or conv == 2 then return "(%s * scale + M) - M" end
	if conv == 4 then return "(%s * scale + 0.5) // 1" end
	return nil
end

-- fn(raw, frames, scale, div) -> the packed integers of clean channels ch0 .. ch0 + tch - 1
-- of `frames` raw frames (cch channels, letter cl, cbps bytes a sample), or a raised error
-- when a value does not fit. FAST_FRAMES frames a step: one string.unpack of their samples
-- into locals, one string.pack of the converted ones (code generated once per layout).
local FAST_SAMPLES = 96
local fast_fns = {}
local function fast_writer(cl, cbps, cch, ch0, tch, ol, conv)
	local expr = fast_expression(conv)
	if not expr then return nil end
	local key = table.concat({ cl, cch, ch0, tch, ol, conv }, ":")
	local fn = fast_fns[key]
	if fn then return fn end
	local function step(frames)
		local names, outs = {}, {}
		for f = 0, frames - 1 do
			for c = 0, cch - 1 do names[#names + 1] = string.format("c%d", f * cch + c) end
			for k = 0, tch - 1 do outs[#outs + 1] = string.format(expr, string.format("c%d", f * cch + ch0 + k)) end
		end
		return table.concat(names, ", "), table.concat(outs, ", ")
	end
	local k = FAST_SAMPLES // cch
	if k < 1 then k = 1 end
	local names, outs = step(k)
	local names1, outs1 = step(1)
	local src = table.concat({
		"local fk, ok, f1, o1 = ...",
		"return function(raw, frames, scale, div)",
		"local M = " .. string.format("%.1f", ROUND_MAGIC),
		"local parts, np, p, done = {}, 0, 1, 0",
		"while done + " .. k .. " <= frames do",
		"local " .. names .. " = string.unpack(fk, raw, p)",
		"np = np + 1",
		"parts[np] = string.pack(ok, " .. outs .. ")",
		"p, done = p + " .. k * cch * cbps .. ", done + " .. k,
		"end",
		"while done < frames do",
		"local " .. names1 .. " = string.unpack(f1, raw, p)",
		"np = np + 1",
		"parts[np] = string.pack(o1, " .. outs1 .. ")",
		"p, done = p + " .. cch * cbps .. ", done + 1",
		"end",
		"return table.concat(parts)",
		"end" }, "\n")
	fn = assert(load(src, "=ghostrec.takeformat writer", "t"))("<" .. string.rep(cl, k * cch),
		"<" .. string.rep(ol, k * tch), "<" .. string.rep(cl, cch), "<" .. string.rep(ol, tch))
	fast_fns[key] = fn
	return fn
end

function M.write_clean_as_take(report, ti, ci, conv, path, opt)
	opt = opt or {}
	local bits, tch, cch = ti.bits, ti.channels, ci.channels
	local ch0 = report.clean_channel or 0
	if not M.takes_integers(ti) then return nil, "the take is not 16/24-bit integer" end
	if ch0 + tch > cch then return nil, "the clean file lacks the take's channels" end
	local C, err = audiofile.reader(ci)
	if not C then return nil, err end
	local f
	f, err = io.open(path, "wb")
	if not f then C:close(); return nil, "cannot write " .. path .. ": " .. tostring(err) end
	local ok = f:write(wav_header(ti.rate, tch, bits, ci.frames))
	local scale, div, fr = conv_params(conv, bits)
	local lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
	local clip0 = conv == 0 -- libsndfile clips before rounding, at +-2^31
	local plain = not clip0 and not fr and div == 1 and conv < 4
	local letter = bits == 16 and "i2" or "i3"
	local fmt_full = "<" .. string.rep(letter, PACK_BATCH)
	-- float32 and 16/24-bit clean files: the block converted by generated code, unless a
	-- sample needs clipping (or the convention has no such form): then the loop below.
	local fast = (C.letter == "f" or C.letter == "i2" or C.letter == "i3")
		and fast_writer(C.letter, ci.bytes_per_sample, cch, ch0, tch, letter, conv)
	local fast_div = 1.0 * div
	-- A clean file already in the take's bits and channels: k / 2^(n-1) gives k back in
	-- every convention that scales by 2^(n-1) (nothing to round or clip), so its bytes are
	-- the answer as they are.
	local identity = not ci.float and ci.bits == bits and tch == cch and (conv == 0 or conv == 1 or conv >= 4)
	local vals, cb = {}, {}
	local start = 0
	while ok and start < ci.frames do
		local raw, n = C:raw(start, WRITE_BLOCK)
		if n <= 0 then ok = false break end
		local done, packed = false, nil
		if identity then
			done, packed = true, raw
		elseif fast then
			local cscale = C.scale
			done, packed = pcall(fast, raw, n, scale * cscale, fast_div)
		end
		if done then
			ok = f:write(packed) and ok
		else
			C:decode(raw, n, cb)
			local parts = {}
			local m = 0
			if plain and tch == cch then
				-- x 2^(n-1) or x (2^(n-1) - 1), all channels: the common case, one plain loop
				for i = 1, n * tch do
					local q = floor((cb[i] * scale + ROUND_MAGIC) - ROUND_MAGIC)
					if q < lo then q = lo elseif q > hi then q = hi end
					m = m + 1
					vals[m] = q
					if m == PACK_BATCH then
						parts[#parts + 1] = spack(fmt_full, table.unpack(vals, 1, m))
						m = 0
					end
				end
			else
				for fr0 = 0, n - 1 do
					local base = fr0 * cch + ch0 + 1
					for k = 0, tch - 1 do
						local v = cb[base + k] * scale
						if fr then v = fround(v) end
						local q
						if clip0 and v >= 2147483648.0 then
							q = hi
						elseif clip0 and v <= -2147483648.0 then
							q = lo
						elseif conv >= 4 then
							q = convert(conv, bits, cb[base + k])
						else
							q = floor((v + ROUND_MAGIC) - ROUND_MAGIC) // div
							if q < lo then q = lo elseif q > hi then q = hi end
						end
						m = m + 1
						vals[m] = q
						if m == PACK_BATCH then
							parts[#parts + 1] = spack(fmt_full, table.unpack(vals, 1, m))
							m = 0
						end
					end
				end
			end
			if m > 0 then parts[#parts + 1] = spack("<" .. string.rep(letter, m), table.unpack(vals, 1, m)) end
			ok = f:write(table.concat(parts)) and ok
		end
		start = start + n
		if opt.yield then opt.yield() end
	end
	C:close()
	local closed = f:close()
	if not ok or not closed then
		os.remove(path)
		return nil, "cannot write " .. path .. " (disk full?)"
	end
	return true
end

return M
