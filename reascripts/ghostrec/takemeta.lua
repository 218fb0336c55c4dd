-- @noindex
-- ghostrec clean-take metadata (the Lua side of common/takemeta.c): bext description, cue
-- point, sidecar JSON and file names (docs/contracts.md). Pure Lua 5.3/5.4.
local M = {}

---------------------------------------------------------------------------------------------
-- Clean-take metadata
---------------------------------------------------------------------------------------------

-- Parses "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>".
function M.parse_bext_description(desc)
	if type(desc) ~= "string" or not desc:match("^ghostrec%s") then return nil end
	local m = {}
	for k, v in desc:gmatch("(%w[%w_]*)=(%d+)") do m[k] = tonumber(v) end
	if not m.take_id or not m.marker_frame then return nil end
	return m
end

-- Minimal reader for the flat sidecar JSON object (numbers, strings, string arrays).
function M.parse_sidecar_json(text)
	if type(text) ~= "string" or not text:match("^%s*{") then return nil, "sidecar is not a JSON object" end
	local m = {}
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*(%-?%d+%.?%d*[eE]?[%+%-]?%d*)') do m[k] = tonumber(v) end
	for k, v in text:gmatch('"([%w_]+)"%s*:%s*"([^"]*)"') do m[k] = v end
	local map = text:match('"channel_map"%s*:%s*(%b[])')
	if map then
		m.channel_map = {}
		for v in map:gmatch('"([^"]*)"') do m.channel_map[#m.channel_map + 1] = v end
	end
	if not m.take_id then return nil, "sidecar has no take_id" end
	return m
end

-- Everything known about a clean file: take_id, marker_frame (nil when unknown), rate,
-- channels, and where it came from. Sidecar first (it is complete), then bext, then cue.
function M.clean_metadata(info)
	local meta = { source = "none" }
	local dir, base = info.path:match("^(.-)([^/\\]*)$")
	local id = base:match("^ghostrec%-(%d+)%.%w+$") or base:match("^ghostrec%-(%d+)%-ch%d+%.%w+$")
	if id then
		local f = io.open(dir .. "ghostrec-" .. id .. ".json", "rb")
		if f then
			local text = f:read("a")
			f:close()
			local sc = M.parse_sidecar_json(text)
			if sc then
				meta.take_id, meta.marker_frame = sc.take_id, sc.marker_frame
				meta.rate, meta.channels, meta.channel_map = sc.rate, sc.channels, sc.channel_map
				meta.source = "sidecar"
			end
		end
	end
	local bext = M.parse_bext_description(info.bext_description)
	if bext then
		meta.take_id = meta.take_id or bext.take_id
		meta.marker_frame = meta.marker_frame or bext.marker_frame
		meta.rate = meta.rate or bext.rate
		meta.channels = meta.channels or bext.channels
		if meta.source == "none" then meta.source = "bext" end
	end
	if not meta.marker_frame then
		for _, c in ipairs(info.cues) do
			if c.label == "ghostrec-marker" then
				meta.marker_frame = c.sample_offset
				if meta.source == "none" then meta.source = "cue" end
				break
			end
		end
	end
	if not meta.take_id and id then meta.take_id = tonumber(id) end
	return meta
end

-- Contract file names (docs/contracts.md).
function M.clean_file_name(take_id, channel)
	if channel then return string.format("ghostrec-%d-ch%d.wav", take_id, channel) end
	return string.format("ghostrec-%d.wav", take_id)
end

-- The clean file's ghostrec facts as ghostrec-sync reads them (read_clean_meta): the bext
-- description "ghostrec take_id=<id> marker_frame=<n> rate=<r> channels=<c>" of a RIFF or
-- RF64 file, else the sidecar ghostrec-<id>.json next to a file named ghostrec-<id>...
-- Returns {valid, take_id, marker_frame, source = "bext"|"sidecar"}.
function M.clean_meta(info)
	local meta = { valid = false }
	local desc = info.bext_description
	if (info.container == "wav" or info.container == "rf64") and type(desc) == "string" then
		local id, mf, rate, ch = desc:match(
			"^ghostrec%s*take_id=%s*(%d+)%s*marker_frame=%s*(%d+)%s*rate=%s*(%d+)%s*channels=%s*(%d+)")
		if id and tonumber(id) <= 0xffffffff then
			meta.valid, meta.take_id, meta.marker_frame, meta.source = true, tonumber(id), tonumber(mf), "bext"
			return meta
		end
	end
	local dir, base = info.path:match("^(.-)([^/]*)$")
	local id = base:match("^ghostrec%-(%d+)")
	if id and tonumber(id) <= 0xffffffff then
		local f = io.open(dir .. "ghostrec-" .. tonumber(id) .. ".json", "rb")
		if f then
			local sc = M.parse_sidecar_json(f:read("a"))
			f:close()
			if sc and sc.take_id and sc.marker_frame and sc.marker_frame >= 0 then
				meta.valid, meta.take_id, meta.marker_frame, meta.source = true, sc.take_id, sc.marker_frame, "sidecar"
			end
		end
	end
	return meta
end

return M
