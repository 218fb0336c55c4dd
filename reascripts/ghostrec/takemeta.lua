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

---------------------------------------------------------------------------------------------
-- Gaps (docs/contracts.md "Gaps"): frame ranges of the clean file with no captured audio.
-- A list {frame, frames, cause}, sorted, non-overlapping (common/takemeta.c's gaps).
---------------------------------------------------------------------------------------------

M.GAP_LABEL = "ghostrec-gap:"
local CAUSE_MAX = 23 -- bytes; struct ghostrec_gap's cause[24]

local function cut_cause(cause)
	if #cause <= CAUSE_MAX then return cause end
	local n = CAUSE_MAX
	-- never inside a UTF-8 character
	while n > 0 and (cause:byte(n + 1) & 0xC0) == 0x80 do n = n - 1 end
	return cause:sub(1, n)
end

-- ghostrec_takemeta_add_gap: adds [frame, frame + frames), keeping the list sorted; a gap
-- overlapping or touching another is merged into it (the earlier cause stays). Returns
-- true, or false for frames <= 0.
function M.add_gap(gaps, frame, frames, cause)
	if frames <= 0 then return false end
	cause = cut_cause(cause or "other")
	local e = frame + frames
	local i = 1
	while i <= #gaps and gaps[i].frame + gaps[i].frames < frame do i = i + 1 end
	if i <= #gaps and gaps[i].frame <= e then
		local g = gaps[i]
		local lo = g.frame < frame and g.frame or frame
		local hi = g.frame + g.frames > e and g.frame + g.frames or e
		while i + 1 <= #gaps and gaps[i + 1].frame <= hi do
			if gaps[i + 1].frame + gaps[i + 1].frames > hi then hi = gaps[i + 1].frame + gaps[i + 1].frames end
			table.remove(gaps, i + 1)
		end
		if frame < g.frame then g.cause = cause end
		g.frame, g.frames = lo, hi - lo
		return true
	end
	table.insert(gaps, i, { frame = frame, frames = frames, cause = cause })
	return true
end

-- The sidecar's "gaps" array text ("[...]") as a list, or nil, reason (same checks as C).
local function parse_gaps(arr)
	local gaps = {}
	local inner = arr:sub(2, -2)
	if inner:match("^%s*$") then return gaps end
	local prev_end = nil
	local pos = 1
	while true do
		local s, e = inner:find("%b{}", pos)
		if not s then
			if not inner:sub(pos):match("^[%s,]*$") then return nil, "sidecar: bad gaps entry" end
			break
		end
		if not inner:sub(pos, s - 1):match("^[%s,]*$") then return nil, "sidecar: bad gaps entry" end
		local obj = inner:sub(s, e)
		local frame = obj:match('"frame"%s*:%s*(%d+)%s*[,}]')
		local frames = obj:match('"frames"%s*:%s*(%d+)%s*[,}]')
		local cause = obj:match('"cause"%s*:%s*"([^"]*)"')
		if obj:match('"cause"%s*:') and not cause then return nil, "sidecar: a gap's cause is not a string" end
		frame, frames = tonumber(frame), tonumber(frames)
		if not frame or not frames or frames <= 0 or math.type(frame) ~= "integer" or math.type(frames) ~= "integer" then
			return nil, 'sidecar: a gap needs "frame" and "frames" > 0'
		end
		if prev_end and frame < prev_end then return nil, "sidecar: gaps are not sorted and non-overlapping" end
		prev_end = frame + frames
		gaps[#gaps + 1] = { frame = frame, frames = frames, cause = cut_cause(cause or "other") }
		pos = e + 1
	end
	return gaps
end

-- The gaps a clean file's WAV says it has: cue points labelled "ghostrec-gap:CAUSE" with an
-- ltxt region (common/takemeta.c ghostrec_takemeta_read_wav).
function M.wav_gaps(info)
	local gaps = {}
	for _, c in ipairs(info.cues or {}) do
		local label = c.label
		if label and #label > #M.GAP_LABEL and label:sub(1, #M.GAP_LABEL) == M.GAP_LABEL and c.region and c.region > 0 then
			M.add_gap(gaps, c.sample_offset, c.region, label:sub(#M.GAP_LABEL + 1))
		end
	end
	return gaps
end

-- Minimal reader for the flat sidecar JSON object (numbers, strings, string arrays, and the
-- "gaps" array of objects).
function M.parse_sidecar_json(text)
	if type(text) ~= "string" or not text:match("^%s*{") then return nil, "sidecar is not a JSON object" end
	local m = {}
	-- The gaps array first, then out of the way of the flat fields ("frames" is both).
	local gs, ge = text:find('"gaps"%s*:%s*')
	if gs then
		local arr = text:match("^%b[]", ge + 1)
		if not arr then return nil, "sidecar: gaps is not an array" end
		local gaps, gerr = parse_gaps(arr)
		if not gaps then return nil, gerr end
		m.gaps = gaps
		text = text:sub(1, gs - 1) .. text:sub(ge + 1 + #arr)
	end
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
-- Gaps: the WAV's gap regions and the sidecar's "gaps" together (merged).
-- Returns {valid, take_id, marker_frame, source = "bext"|"sidecar", gaps}.
function M.clean_meta(info)
	local meta = { valid = false, gaps = {} }
	local desc = info.bext_description
	if (info.container == "wav" or info.container == "rf64") and type(desc) == "string" then
		local id, mf, rate, ch = desc:match(
			"^ghostrec%s*take_id=%s*(%d+)%s*marker_frame=%s*(%d+)%s*rate=%s*(%d+)%s*channels=%s*(%d+)")
		if id and tonumber(id) <= 0xffffffff then
			meta.valid, meta.take_id, meta.marker_frame, meta.source = true, tonumber(id), tonumber(mf), "bext"
		end
	end
	for _, g in ipairs(M.wav_gaps(info)) do M.add_gap(meta.gaps, g.frame, g.frames, g.cause) end
	local dir, base = info.path:match("^(.-)([^/\\]*)$")
	local id = base:match("^ghostrec%-(%d+)")
	if id and tonumber(id) <= 0xffffffff then
		local f = io.open(dir .. "ghostrec-" .. tonumber(id) .. ".json", "rb")
		if f then
			local sc = M.parse_sidecar_json(f:read("a"))
			f:close()
			if sc and sc.take_id and sc.marker_frame and sc.rate and sc.channels and sc.frames then
				for _, g in ipairs(sc.gaps or {}) do M.add_gap(meta.gaps, g.frame, g.frames, g.cause) end
			end
			if not meta.valid and sc and sc.take_id and sc.marker_frame and sc.marker_frame >= 0 then
				meta.valid, meta.take_id, meta.marker_frame, meta.source = true, sc.take_id, sc.marker_frame, "sidecar"
			end
		end
	end
	return meta
end

return M
