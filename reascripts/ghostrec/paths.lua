-- @noindex
-- ghostrec paths: file names of clean takes, folders, listing, copying and moving files the
-- way REAPER on Windows allows (io.open opens files only; os.rename does not replace).
local slice = require("ghostrec.slice")

local M = {}

function M.join(dir, name)
	if dir:match("[/\\]$") then return dir .. name end
	local sep = dir:find("\\", 1, true) and "\\" or "/"
	return dir .. sep .. name
end

function M.basename(p) return (p or ""):match("[^/\\]*$") end
function M.dirname(p) return ((p or ""):match("^(.*)[/\\][^/\\]*$")) or "" end

-- A clean take's file name (docs/contracts.md): returns take id, channel (or nil), kind
-- ("wav" | "json" | "takeformat": the clean audio in a take's integers, made in the
-- project's media folder, ghostrec.takeformat), or nil. Names are compared whole: nothing
-- else counts.
function M.parse_clean_name(name)
	local id, ch = name:match("^ghostrec%-(%d+)%-ch(%d+)x%d+%-%d+bit%-%w+%.wav$")
	if id then return tonumber(id), tonumber(ch), "takeformat" end
	id, ch = name:match("^ghostrec%-(%d+)%-ch(%d+)%.wav$")
	if id then return tonumber(id), tonumber(ch), "wav" end
	id = name:match("^ghostrec%-(%d+)%.wav$")
	if id then return tonumber(id), nil, "wav" end
	id = name:match("^ghostrec%-(%d+)%.json$")
	if id then return tonumber(id), nil, "json" end
	return nil
end

-- Is this one of our clean files (in the inbox, done/ or the project's media folder)?
function M.is_clean_file(path)
	local id, _, kind = M.parse_clean_name(M.basename(path))
	return id ~= nil and (kind == "wav" or kind == "takeformat")
end

-- Does this folder exist? REAPER lists no files of a missing folder, but an empty folder
-- lists none either; io.open cannot open a folder on Windows. Renaming a folder to itself
-- succeeds (or is refused with "permission denied", code 13) only if it is there.
function M.dir_exists(dir)
	if reaper.EnumerateFiles(dir, 0) or reaper.EnumerateSubdirectories(dir, 0) then return true end
	local d = dir:gsub("[/\\]+$", "")
	if d:match("^%a:$") then d = d .. "\\" end
	local ok, _, code = os.rename(d, d)
	return ok == true or code == 13
end

-- Files (not folders) in dir, fresh listing. Returns list or nil, message.
function M.list(dir)
	reaper.EnumerateFiles(dir, -1) -- force a fresh directory listing
	local names, i = {}, 0
	while true do
		local name = reaper.EnumerateFiles(dir, i)
		if not name or name == "" then break end
		names[#names + 1] = name
		i = i + 1
	end
	if #names == 0 and not M.dir_exists(dir) then return nil end
	return names
end

function M.file_size(path)
	local f = io.open(path, "rb")
	if not f then return nil end
	local n = f:seek("end")
	f:close()
	return n
end

-- Copies src to dst in slices (a long take is a gigabyte): written under a temporary name
-- and renamed when complete. Returns true or nil, message.
local COPY_CHUNK = 1 << 20
function M.copy(src, dst)
	local fi, err = io.open(src, "rb")
	if not fi then return nil, "cannot read " .. src .. ": " .. tostring(err) end
	local tmp = dst .. ".part"
	os.remove(tmp)
	local fo
	fo, err = io.open(tmp, "wb")
	if not fo then fi:close(); return nil, "cannot write " .. tmp .. ": " .. tostring(err) end
	slice.on_abort(tmp, function() fo:close(); os.remove(tmp) end)
	while true do
		local s = fi:read(COPY_CHUNK)
		if not s then break end
		if not fo:write(s) then
			fi:close(); fo:close(); os.remove(tmp); slice.on_abort(tmp, nil)
			return nil, "cannot write " .. tmp .. " (disk full?)"
		end
		slice.maybe_yield()
	end
	fi:close()
	fo:close()
	slice.on_abort(tmp, nil)
	os.remove(dst)
	local ok
	ok, err = os.rename(tmp, dst)
	if not ok then os.remove(tmp); return nil, "cannot rename " .. tmp .. ": " .. tostring(err) end
	return true
end

-- Moves a file into folder `dir` (created if needed), replacing a file of that name there.
function M.move_into(path, dir)
	reaper.RecursiveCreateDirectory(dir, 0)
	local dst = M.join(dir, M.basename(path))
	os.remove(dst)
	return os.rename(path, dst)
end

return M
