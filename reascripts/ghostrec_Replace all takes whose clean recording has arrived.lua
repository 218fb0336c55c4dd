-- @description ghostrec: Replace all takes whose clean recording has arrived
-- @version 0.2.0
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
-- Triggered again while running (another delivery): this run ends and a new one starts.
require("ghostrec.slice").start("Replace all", function() replace.run_arrived() end, { relaunch = true, quiet = true })
