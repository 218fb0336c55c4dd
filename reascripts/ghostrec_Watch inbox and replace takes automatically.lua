-- @description ghostrec: Watch inbox and replace takes automatically
-- @version 0.2.0
-- @author pw-ghost-rec
-- @noindex
-- @about
--   Background action (toggle): while it runs, every take whose clean recording arrives in
--   the inbox is replaced automatically once recording has stopped. Run it again to stop.

local script_dir = ({ reaper.get_action_context() })[2]:match("^(.*[/\\])") or ""
package.path = script_dir .. "?.lua;" .. package.path

require("ghostrec.watch").start()
