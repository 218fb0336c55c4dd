-- @noindex
-- Asking ghostrec-exporter for the clean audio of a take that has no marker and no clean file
-- (docs/contracts.md "REAPER requests"; the exporter's side is exporter/requests.c). Probes of
-- the take's first channel go into <inbox>/requests/ghostrec-request-<id>.json (written under a
-- temporary name, then renamed); the exporter finds them in its capture journal and answers in
-- ghostrec-answer-<id>.json, naming a clean take it delivers into the inbox like any other.
-- The probe positions are those of common/journal_find.c (ghostrec_jfind_probe_starts).
local audiofile = require("ghostrec.audiofile")

local M = {}

M.PROBE_FRAMES = 320
M.MAX_PROBES = 256

-- Take frames where probes start (0-based), evenly spread, about two a second.
function M.probe_starts(frames, rate)
	if frames < M.PROBE_FRAMES then return {} end
	local room = frames - M.PROBE_FRAMES
	local n = (2 * frames) // (rate > 0 and rate or 48000) + 2
	if n > M.MAX_PROBES then n = M.MAX_PROBES end
	if n > room + 1 then n = room + 1 end
	local starts = {}
	for i = 0, n - 1 do
		starts[#starts + 1] = n > 1 and math.floor(room * i / (n - 1)) or 0
	end
	return starts
end

local function valid_id(id)
	return type(id) == "string" and #id >= 1 and #id <= 64 and not id:find("[^%w%-_%.]")
end

-- The request's JSON text for the take file at path. Returns text or nil, err.
function M.build(path, id)
	if not valid_id(id) then return nil, "request id must be 1..64 letters, digits, '-', '_' or '.'" end
	local info, err = audiofile.open_audio(path)
	if not info then return nil, err end
	local reader, rerr = audiofile.reader(info)
	if not reader then return nil, rerr end
	local parts = {}
	for _, s in ipairs(M.probe_starts(info.frames, info.rate)) do
		local x = reader:read(s, M.PROBE_FRAMES, 0)
		local nums = {}
		for i = 1, #x do nums[i] = string.format("%.9g", x[i]) end
		parts[#parts + 1] = string.format('{"take_frame": %d, "samples": [%s]}', s, table.concat(nums, ","))
	end
	reader:close()
	if #parts == 0 then return nil, path .. ": too short to be looked up" end
	return string.format('{"ghostrec_request": 1, "id": "%s", "rate": %d, "bits": %d, "take_frames": %d,\n "probes": [%s]}\n',
		id, info.rate, audiofile.format_bits(info), info.frames, table.concat(parts, ",\n  "))
end

local function join(dir, name)
	local sep = dir:find("\\", 1, true) and "\\" or "/"
	if dir:sub(-1) == "/" or dir:sub(-1) == "\\" then return dir .. name end
	return dir .. sep .. name
end

-- Writes the request for the take at path into inbox/requests (which the exporter creates).
-- Returns the request's path or nil, err.
function M.write(inbox, path, id)
	local text, err = M.build(path, id)
	if not text then return nil, err end
	local dir = join(inbox, "requests")
	local final = join(dir, "ghostrec-request-" .. id .. ".json")
	local tmp = final .. ".tmp"
	local f, oerr = io.open(tmp, "wb")
	if not f then return nil, "cannot write " .. tmp .. ": " .. tostring(oerr) end
	local ok = f:write(text)
	f:close()
	if not ok then os.remove(tmp) return nil, "cannot write " .. tmp end
	os.remove(final)
	local rok, rerr = os.rename(tmp, final)
	if not rok then os.remove(tmp) return nil, tostring(rerr) end
	return final
end

-- The answer to request id, once the exporter wrote it: a table with status ("found",
-- "not-found", "error"), and take_id/file/sidecar or reason. nil while there is none.
function M.read_answer(inbox, id)
	local f = io.open(join(join(inbox, "requests"), "ghostrec-answer-" .. id .. ".json"), "rb")
	if not f then return nil end
	local text = f:read("a")
	f:close()
	local a = {}
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*"([^"]*)"') do a[k] = v end
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*(%d+)') do a[k] = tonumber(v) end
	if not a.status then return nil end
	return a
end

return M
