-- @noindex
-- ghostrec core: everything the ReaScripts need that is not REAPER, in pure Lua (5.3 / 5.4):
--   ghostrec/audiofile.lua  WAV/RF64/W64 reader            (common/audiofile.c)
--   ghostrec/takemeta.lua   clean-take metadata             (common/takemeta.c)
--   ghostrec/marker.lua     sync marker decoder             (common/marker.c)
--   ghostrec/conform.lua    conform (EDL) engine            (common/conform.c)
--   ghostrec/takeformat.lua clean audio in the take's integers (common/conform_render.c)
-- This module gathers their functions into one table.
local core = {}
core.VERSION = "0.2.0"

for _, name in ipairs({ "audiofile", "takemeta", "marker", "conform", "takeformat" }) do
	for k, v in pairs(require("ghostrec." .. name)) do
		assert(core[k] == nil, "ghostrec core: " .. k .. " defined twice")
		core[k] = v
	end
end

return core
