-- Times the whole replace action (marker, conform, source swap, splits, markers) on one
-- take inside the REAPER API mock: how long REAPER's UI would be busy for that take.
--   GHOSTREC_SRC=. lua5.4 tests/bench/lua-replace.lua TAKE.wav CLEAN.wav TAKE_ID
local src = os.getenv("GHOSTREC_SRC") or "."
package.path = table.concat({ src .. "/reascripts/?.lua", src .. "/tests/lua/?.lua", package.path }, ";")
local take, clean, id = arg[1], arg[2], tonumber(arg[3])
local inbox = os.tmpname()
os.remove(inbox)
assert(os.execute('mkdir -p "' .. inbox .. '" && ln -s "' .. clean .. '" "' .. inbox .. '/ghostrec-' .. id .. '.wav"'))
local mock = require("reaper_mock")
local P = mock.new()
_G.reaper = P.reaper
local replace = require("ghostrec.replace")
P.reaper.SetExtState("ghostrec", "inbox", inbox, true)
local core = require("ghostrec.core")
local info = assert(core.open_audio(take))
P.add_item(P.add_track(), take, 0, info.frames / info.rate, 0, { B_UISEL = 1 })
local t0 = os.clock()
local n = replace.run_selected()
local dt = os.clock() - t0
os.execute('rm -rf "' .. inbox .. '"')
assert(n == 1, "replace failed: " .. table.concat(P.console) .. (P.mb[1] and P.mb[1].msg or ""))
print(string.format("replace action (mock REAPER): %.2f s CPU, %d items after splitting, %d markers",
	dt, #P.tracks[1].items, #P.markers))
