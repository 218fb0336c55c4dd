-- @description ghostrec: Settings
-- @version 0.1.0
-- @author pw-ghost-rec
-- @noindex
-- @about
--   Inbox folder, join policy (cut or crossfade), crossfade length and glitch markers for
--   the ghostrec take-replacement actions. Stored in REAPER's ExtState.

local script_dir = ({ reaper.get_action_context() })[2]:match("^(.*[/\\])") or ""
package.path = script_dir .. "?.lua;" .. package.path

local settings = require("ghostrec.settings")

local function run()
	local s = settings.load()
	local defaults = table.concat({ s.inbox, s.join, tostring(s.xfade_ms), s.markers and "on" or "off" }, "\t")
	local ok, csv = reaper.GetUserInputs("ghostrec settings", 4,
		"Inbox folder,Join policy (cut|crossfade),Crossfade (ms),Glitch markers (on|off),separator=\t,extrawidth=250",
		defaults)
	if not ok then return end
	local fields = {}
	for v in (csv .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = v end
	local new, err = settings.parse(fields[1], fields[2], fields[3], fields[4])
	if not new then
		reaper.MB("Settings not saved: " .. err, "ghostrec", 0)
		return
	end
	settings.save(new)
	reaper.ShowConsoleMsg(string.format("ghostrec: settings saved (inbox %s, join %s, crossfade %g ms, markers %s)\n",
		new.inbox ~= "" and new.inbox or "(not set)", new.join, new.xfade_ms, new.markers and "on" or "off"))
end

run()
