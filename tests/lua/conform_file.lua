-- Runs the Lua conform engine on a take/clean pair and prints the report JSON, like
-- `ghostrec-sync --report -`: lua5.4 tests/lua/conform_file.lua TAKE.wav CLEAN.wav
-- (GHOSTREC_PHASES=1: the CPU time of each phase on stderr)
local src = os.getenv("GHOSTREC_SRC") or "."
package.path = src .. "/reascripts/?.lua;" .. package.path
local core = require("ghostrec.core")
local take, clean = arg[1], arg[2]
if not take or not clean then
	io.stderr:write("usage: conform_file.lua TAKE.wav CLEAN.wav\n")
	os.exit(2)
end
local ti, err = core.open_audio(take)
if not ti then io.stderr:write("conform_file: ", err, "\n") os.exit(1) end
local ci
ci, err = core.open_audio(clean)
if not ci then io.stderr:write("conform_file: ", err, "\n") os.exit(1) end
-- GHOSTREC_PHASES=1: CPU seconds of each phase of the engine on stderr.
local opt = {}
if os.getenv("GHOSTREC_PHASES") then
	local times, last, t_last = {}, nil, os.clock()
	opt.phase = function(name)
		local now = os.clock()
		if last then times[#times + 1] = string.format("%s %.2f s", last, now - t_last) end
		last, t_last = name, now
		if name == "done" then io.stderr:write("phases (CPU): ", table.concat(times, ", "), "\n") end
	end
end
local r
r, err = core.conform_run(ti, ci, core.clean_meta(ci), opt)
if not r then io.stderr:write("conform_file: ", err, "\n") os.exit(1) end
io.write(core.report_json(r))
