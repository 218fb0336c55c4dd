-- @noindex
-- ghostrec project memory, saved with the project (ProjExtState "ghostrec"):
--   id:<recorded file>   the take id its marker holds, or "none"; ":frames" its length
--   done:<take id>       replaced once: the watcher and "Replace all" leave this take id
--                        alone from then on, also after an undo (the user declined it) and
--                        after REAPER restarts; "Replace selected" still does it on request
--   tried:<file>:<id>    a marker-less recording was compared with this clean take (no match)
local M = {}
local SECTION = "ghostrec"

local function get(key)
	local _, v = reaper.GetProjExtState(0, SECTION, key)
	return v ~= "" and v or nil
end
local function set(key, v) reaper.SetProjExtState(0, SECTION, key, v or "") end

-- Take id of a recorded file: number, false (no marker), or nil (not known yet); and its
-- length in frames when known.
function M.take_id(file)
	local v = get("id:" .. file)
	if v == nil then return nil end
	local id, frames = v:match("^([^:]*):?(%d*)$")
	if id == "none" then return false, tonumber(frames) end
	return tonumber(id), tonumber(frames)
end
function M.set_take_id(file, id, frames)
	if not frames then frames = select(2, M.take_id(file)) end
	set("id:" .. file, (id and tostring(id) or "none") .. (frames and (":" .. frames) or ""))
end

function M.is_done(id) return get("done:" .. id) ~= nil end
function M.set_done(id) set("done:" .. id, "1") end

function M.was_tried(file, id) return get("tried:" .. file .. ":" .. id) ~= nil end
function M.set_tried(file, id) set("tried:" .. file .. ":" .. id, "1") end

return M
