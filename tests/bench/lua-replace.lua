-- Benchmark (not a test): "Replace all" in the REAPER API mock on a long take, in a project
-- with many older recordings, as REAPER would run it (a coroutine resumed once per UI cycle).
-- Prints the total time and the longest uninterrupted UI slice, both from the mock's
-- deterministic cost model (tests/lua/reaper_mock.lua) and as measured on this machine.
--   GHOSTREC_SRC=. lua5.4 tests/bench/lua-replace.lua TAKE.wav CLEAN.wav TAKE_ID [OLD_TAKES]
local src = os.getenv("GHOSTREC_SRC") or "."
package.path = table.concat({ src .. "/reascripts/?.lua", src .. "/tests/lua/?.lua", src .. "/tests/lua/lib/?.lua",
	package.path }, ";")
local take, clean, id, n_old = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4] or "40")
local function tmpdir()
	local p = assert(io.popen("mktemp -d"))
	local d = p:read("l")
	p:close()
	return d
end
local work = tmpdir()
local inbox, project = work .. "/inbox", work .. "/project"
assert(os.execute(string.format('mkdir -p "%s" "%s" && ln -s "%s" "%s/ghostrec-%d.wav"', inbox, project, clean, inbox, id)))

local mock = require("reaper_mock")
local core = require("ghostrec.core")
local P = mock.new({ project_path = project })
_G.reaper = P.reaper
P.trace_over_ms = tonumber(os.getenv("GHOSTREC_TRACE_MS") or "")
P.trace_over_real_ms = tonumber(os.getenv("GHOSTREC_TRACE_REAL_MS") or "")
P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
P.reaper.SetExtState("ghostrec", "join", "crossfade", true)

-- Older recordings: 60 s stereo 24-bit each, no marker (from before the setup, or punch-ins
-- nothing matches); every "Replace all" must at least know what they are.
local RATE = 48000
local function old_take(path)
	local data = 60 * RATE * 6
	local f = assert(io.open(path, "wb"))
	f:write("RIFF", string.pack("<I4", 36 + data), "WAVE", "fmt ", string.pack("<I4I2I2I4I4I2I2", 16, 1, 2, RATE, RATE * 6, 6, 24),
		"data", string.pack("<I4", data))
	local chunk = string.rep("\0", 1 << 20)
	local left = data
	while left > 0 do
		f:write(chunk:sub(1, math.min(left, #chunk)))
		left = left - #chunk
	end
	f:close()
end
for i = 1, n_old do
	local path = string.format("%s/Old-%03d.wav", project, i)
	old_take(path)
	P.add_item(P.add_track(), path, (i - 1) * 61, 60, 0)
end
local info = assert(core.open_audio(take))
local tr = P.add_track()
P.add_item(tr, take, 0, info.frames / info.rate, 0)

local function run(what)
	P.slices = {}
	P.max_slice_ms, P.max_slice_real_ms = 0, 0
	local undo0 = #P.undo_points
	local c0, t0 = P.clock, os.clock()
	P.launch(src .. "/reascripts/ghostrec_Replace all takes whose clean recording has arrived.lua")
	while #P.deferred > 0 do P.tick(0) end
	local model_s, cpu_s = P.clock - c0, os.clock() - t0
	print(string.format("%-44s total %7.2f s (model) %7.2f s (this machine, CPU); longest slice %6.1f ms (model) %6.1f ms (this machine); %d slices; %d undo point(s)",
		what, model_s, cpu_s, P.max_slice_ms, P.max_slice_real_ms, #P.slices, #P.undo_points - undo0))
end

print(string.format("take %.0f min, %d channels, %d-bit; %d older recordings of 60 s", info.frames / info.rate / 60,
	info.channels, info.bits, n_old))
run("Replace all (first run)")
print(string.format("  replaced: %d items after splitting, %d glitch markers", #tr.items, #P.markers))
-- the exporter triggers it again after the next delivery (another, short take)
run("Replace all (next trigger, nothing new)")
-- GHOSTREC_TRACE_MS=N (GHOSTREC_TRACE_REAL_MS=N): where the slices longer than N ms of the
-- model (of this machine's CPU time) went, most frequent first.
if P.trace_over_ms or P.trace_over_real_ms then
	local list = {}
	for tb, n in pairs(P.traces) do list[#list + 1] = { tb, n } end
	table.sort(list, function(a, b) return a[2] > b[2] end)
	for i = 1, math.min(#list, 12) do print(string.format("-- %d samples\n%s", list[i][2], list[i][1])) end
end
os.execute('rm -rf "' .. work .. '"')
