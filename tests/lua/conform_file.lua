-- Runs the Lua conform engine on a take/clean pair and prints the report JSON, like
-- `ghostrec-sync --report -`: lua5.4 tests/lua/conform_file.lua TAKE.wav CLEAN.wav
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
local r
r, err = core.conform_run(ti, ci, core.clean_meta(ci))
if not r then io.stderr:write("conform_file: ", err, "\n") os.exit(1) end
io.write(core.report_json(r))
