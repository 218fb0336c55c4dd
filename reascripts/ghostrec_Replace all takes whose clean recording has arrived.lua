-- @description ghostrec: Replace all takes whose clean recording has arrived
-- @version 0.1.0
-- @author pw-ghost-rec
-- @noindex
-- @about
--   Replaces every recording in the project whose clean take is in the inbox, without
--   needing a selection and without dialogs (messages go to the ReaScript console). Meant
--   for a toolbar button, or for the exporter to trigger over OSC after each delivery
--   (/action/str with this action's command ID).

local script_dir = ({ reaper.get_action_context() })[2]:match("^(.*[/\\])") or ""
package.path = script_dir .. "?.lua;" .. package.path

local replace = require("ghostrec.replace")
replace.run_async(function() replace.run_arrived({ progress = replace.yield_slice }) end)
