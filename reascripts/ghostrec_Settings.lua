-- @description ghostrec: Settings
-- @version 0.2.0
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
	-- "|" separates the fields: it cannot occur in a Windows path, commas can.
	local defaults = table.concat({ s.inbox, s.join, tostring(s.xfade_ms), s.markers and "on" or "off" }, "|")
	local ok, csv = reaper.GetUserInputs("ghostrec settings", 4,
		"Inbox folder,Join policy (cut or crossfade),Crossfade (ms),Glitch markers (on or off),separator=|,extrawidth=250",
		defaults)
	if not ok then return end
	local fields = {}
	for v in (csv .. "|"):gmatch("([^|]*)|") do fields[#fields + 1] = v end
	local new, err = settings.parse(fields[1], fields[2], fields[3], fields[4])
	if not new then
		reaper.MB("Settings not saved: " .. err, "ghostrec", 0)
		return
	end
	settings.save(new)
	reaper.ShowConsoleMsg(string.format("!SHOW:ghostrec: settings saved (inbox %s, join %s, crossfade %g ms, markers %s)\n",
		new.inbox ~= "" and new.inbox or "(not set)", new.join, new.xfade_ms, new.markers and "on" or "off"))
end

run()
-- A script that neither defers nor makes an undo point gets REAPER's automatic one
-- ("ReaScript: Run"); settings are not part of the project: nothing to undo.
reaper.defer(function() end)
