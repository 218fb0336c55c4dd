-- @description ghostrec: Replace selected takes with clean recordings
-- @version 0.2.0
-- @author pw-ghost-rec
-- @provides
--   [nomain] ghostrec/core.lua
--   [nomain] ghostrec/audiofile.lua
--   [nomain] ghostrec/takemeta.lua
--   [nomain] ghostrec/takeformat.lua
--   [nomain] ghostrec/marker.lua
--   [nomain] ghostrec/conform.lua
--   [nomain] ghostrec/replace.lua
--   [nomain] ghostrec/settings.lua
--   [nomain] ghostrec/watch.lua
--   [nomain] ghostrec/slice.lua
--   [nomain] ghostrec/paths.lua
--   [nomain] ghostrec/memory.lua
--   [nomain] ghostrec/place.lua
--   [nomain] ghostrec/request.lua
--   [main] ghostrec_Settings.lua
--   [main] ghostrec_Watch inbox and replace takes automatically.lua
--   [main] ghostrec_Replace all takes whose clean recording has arrived.lua
-- @about
--   # ghostrec: Replace selected takes with clean recordings
--
--   For every selected item (and every other take that plays the same recorded file, such as
--   loop-recording takes) this finds the sync marker pw-ghost-rec put into the recording,
--   picks the matching clean take from the inbox folder, and swaps it in aligned to the
--   sample: after each dropped or inserted block the item is split and the clean audio
--   realigned, with a short crossfade at the join (or a hard cut). A project marker names
--   every glitch. One undo step; REAPER's own recording is never modified.
--
--   Set the inbox folder first with "ghostrec: Settings".

local script_dir = ({ reaper.get_action_context() })[2]:match("^(.*[/\\])") or ""
package.path = script_dir .. "?.lua;" .. package.path

local replace = require("ghostrec.replace")
-- Long takes are analysed in slices between REAPER's UI cycles; triggered again while
-- running, this run ends and a new one starts with the current selection.
require("ghostrec.slice").start("Replace selected", function() replace.run_selected() end, { relaunch = true })
