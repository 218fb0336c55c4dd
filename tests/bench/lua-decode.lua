-- Benchmark (not a test): the least any Lua conform can spend on a take/clean pair that
-- has to be compared sample by sample (a float32 clean file against an integer take): every
-- sample of both files read and decoded by string.unpack, 64 samples a call into locals
-- (the fastest bulk decode found; 16/24-bit samples two at a time, one 32/48-bit integer
-- each pair, as the engine's block compare reads a take), nothing compared. Prints CPU
-- seconds and ns per sample.
--   GHOSTREC_SRC=. lua5.4 tests/bench/lua-decode.lua TAKE.wav CLEAN.wav
local src = os.getenv("GHOSTREC_SRC") or "."
package.path = src .. "/reascripts/?.lua;" .. package.path
local audiofile = require("ghostrec.audiofile")

local RUN = 64
local PAIRED = { i2 = "i4", i3 = "i6" }
local function decoder(letter, bps)
	local item, per = letter, RUN
	if PAIRED[letter] then item, per = PAIRED[letter], RUN // 2 end
	local names = {}
	for i = 1, per do names[i] = "v" .. i end
	return assert(load(string.format([[
local fmt = ...
return function(s, total)
	local p = 1
	for _ = 1, total - %d + 1, %d do
		local %s = string.unpack(fmt, s, p)
		p = p + %d
	end
end]], RUN, RUN, table.concat(names, ", "), RUN * bps)))("<" .. string.rep(item, per)), item
end

local total_s, total_n = 0, 0
for i = 1, 2 do
	local info = assert(audiofile.open_audio(arg[i]))
	local rd = assert(audiofile.reader(info))
	local dec, item = decoder(rd.letter, info.bytes_per_sample)
	local t0 = os.clock()
	local n = 0
	local block = 16384
	for start = 0, info.frames - 1, block do
		local raw, got = rd:raw(start, block)
		dec(raw, got * info.channels)
		n = n + got * info.channels
	end
	local dt = os.clock() - t0
	rd:close()
	print(string.format("decode %-5s %d samples (%s): %.2f s CPU, %.1f ns/sample", item, n,
		arg[i]:match("[^/]*$"), dt, dt / n * 1e9))
	total_s, total_n = total_s + dt, total_n + n
end
print(string.format("decode both files: %.2f s CPU (%s)", total_s, _VERSION))
