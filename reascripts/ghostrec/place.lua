-- @noindex
-- ghostrec place: puts a conformed plan into the project. For each item that plays the
-- recording: the clean source on every take of that recording, a split at every join
-- (dropped/inserted audio), each piece pointed at its clean audio, and crossfades (or cuts)
-- at the joins. Every value is set absolutely from what the item held before the splits:
-- SplitMediaItem applies the user's overlap-on-split preference, which is not ours.
local M = {}

M.CLEAN_TAG = " [ghostrec clean]"

-- Offset d (clean frame - take frame) that applies from take frame tf on: the segment holding
-- tf; inside a gap (inserted frames) the segment before it; outside, the nearest segment.
local function offset_at(segs, tf)
	local d = segs[1].clean_start - segs[1].take_start
	for _, s in ipairs(segs) do
		if tf >= s.take_start then d = s.clean_start - s.take_start else break end
	end
	return d
end

-- Joins (take frames where the offset changes) inside (a, b), with the gap before each.
local function joins_in(segs, a, b)
	local list = {}
	for k = 2, #segs do
		local j = segs[k].take_start
		if j > a and j < b then list[#list + 1] = { frame = j, gap = j - segs[k - 1].take_end } end
	end
	return list
end

function M.glitch_name(g, rate)
	local ms = g.frames * 1000 / rate
	return string.format("ghostrec: %s %d frame%s (%.2f ms)", g.kind, g.frames, g.frames == 1 and "" or "s", ms)
end

-- One clean source per take; nil if the file cannot be opened (nothing created).
local function open_sources(path, n)
	local list = {}
	for i = 1, n do
		list[i] = reaper.PCM_Source_CreateFromFile(path)
		if not list[i] then
			for j = 1, i - 1 do reaper.PCM_Source_Destroy(list[j]) end
			return nil
		end
	end
	return list
end

-- Gap glitches: take frames with no clean audio at all (docs/contracts.md "Gaps").
local function gaps_of(report)
	local list = {}
	for _, g in ipairs(report.glitches) do
		if g.kind == "gap" then list[#list + 1] = g end
	end
	return list
end
M.gaps_of = gaps_of

-- Is take frame tf inside a gap?
local function in_gap(gaps, tf)
	for _, g in ipairs(gaps) do
		if tf >= g.take_frame and tf < g.take_frame + g.frames then return true end
	end
	return false
end

-- Split points inside the item (timeline seconds) of every take of the recording, and the
-- glitch markers. `entries`: {take, t0 = file frame at the item's start}. A join is where
-- the offset changes; around a gap the item is cut hard at both ends (`hard`): the piece
-- between keeps the recording.
local function survey_item(plan, cfg, entries, P, L, counts)
	local r = plan.take_info.rate
	local gaps = gaps_of(plan.report)
	local joins, seen = {}, {}
	local function add(time, gap, hard)
		if time <= P + 1e-9 or time >= P + L - 1e-9 then return end
		local key = string.format("%.9f", time)
		local j = seen[key]
		if not j then
			j = { time = time, gap = gap, hard = hard }
			seen[key] = j
			joins[#joins + 1] = j
		elseif hard then
			j.hard, j.gap = true, 0
		end
	end
	for _, e in ipairs(entries) do
		local t1 = e.t0 + L * r
		for _, g in ipairs(gaps) do
			if g.take_frame + g.frames > e.t0 and g.take_frame < t1 then
				add(P + (g.take_frame - e.t0) / r, 0, true)
				add(P + (g.take_frame + g.frames - e.t0) / r, 0, true)
			end
		end
		for _, j in ipairs(joins_in(plan.report.segments, e.t0, t1)) do
			if not in_gap(gaps, j.frame - 1) then add(P + (j.frame - e.t0) / r, j.gap / r, false) end
		end
		if cfg.markers then
			for _, g in ipairs(plan.report.glitches) do
				if g.take_frame >= e.t0 and g.take_frame < e.t0 + L * r then
					local name = M.glitch_name(g, r)
					if #entries > 1 then
						local _, tname = reaper.GetSetMediaItemTakeInfo_String(e.take, "P_NAME", "", false)
						name = name .. " [" .. (tname or "") .. "]"
					end
					reaper.AddProjectMarker2(0, false, P + (g.take_frame - e.t0) / r, 0, name, -1, 0)
					counts.markers = counts.markers + 1
				end
			end
		end
	end
	table.sort(joins, function(a, b) return a.time < b.time end)
	return joins
end

local function split_at_joins(item, P, L, joins, counts)
	local pieces = { { item = item, s = P, e = P + L } }
	local cur = item
	for _, j in ipairs(joins) do
		local right = reaper.SplitMediaItem(cur, j.time)
		if right then
			pieces[#pieces].e = j.time
			pieces[#pieces + 1] = { item = right, s = j.time, e = P + L, join = j }
			cur = right
			counts.splits = counts.splits + 1
		end
	end
	return pieces
end

-- Overlaps at each join: the right piece reaches back over the gap (inserted frames) plus
-- half a crossfade, the left one forward by half a crossfade; the halves are clamped so
-- neighbouring crossfades never meet and nothing reaches outside the item.
local function plan_overlaps(pieces, half)
	for i = 2, #pieces do
		local pc, prev = pieces[i], pieces[i - 1]
		local room = math.min(pc.e - pc.s, prev.e - prev.s) / 4
		local h = math.min(half, room)
		if pc.join.hard then
			pc.pre, prev.post = 0, 0 -- next to recorded audio kept in a gap: a plain cut
		else
			pc.pre = math.min(pc.join.gap + h, pc.s - prev.s)
			prev.post = h
		end
	end
	for _, pc in ipairs(pieces) do pc.pre, pc.post = pc.pre or 0, pc.post or 0 end
end

local function set_fade(item, side, len, shape, dir)
	reaper.SetMediaItemInfo_Value(item, "D_FADE" .. side .. "LEN", len)
	reaper.SetMediaItemInfo_Value(item, "D_FADE" .. side .. "LEN_AUTO", -1)
	reaper.SetMediaItemInfo_Value(item, "C_FADE" .. side .. "SHAPE", shape)
	reaper.SetMediaItemInfo_Value(item, "D_FADE" .. side .. "DIR", dir)
end

-- "Items always mix" for this item (its MIXFLAG), whatever the project's item mix
-- behaviour: with "items always replace earlier items" a crossfade would be a dip.
local function set_always_mix(item)
	local ok, chunk = reaper.GetItemStateChunk(item, "", false)
	if not ok or not chunk:match("^<ITEM") then return false end
	if chunk:find("\nMIXFLAG %-?%d+") then
		chunk = chunk:gsub("\nMIXFLAG %-?%d+", "\nMIXFLAG 1", 1)
	else
		chunk = chunk:gsub("^<ITEM[^\n]*\n", "%0MIXFLAG 1\n", 1)
	end
	return reaper.SetItemStateChunk(item, chunk, false)
end

-- Positions one piece and points every take at its audio: takes of the recording at the
-- clean frame of the piece's first frame, other takes where they played before the split.
local function place_piece(pieces, i, before, plan, P)
	local r = plan.take_info.rate
	local pc, nxt = pieces[i], pieces[i + 1]
	local pos = pc.s - pc.pre
	local len = (pc.e + pc.post) - pos
	reaper.SetMediaItemInfo_Value(pc.item, "D_POSITION", pos)
	reaper.SetMediaItemInfo_Value(pc.item, "D_LENGTH", len)
	if pc.join then
		set_fade(pc.item, "IN", pc.pre + pieces[i - 1].post, 0, 0)
	else
		set_fade(pc.item, "IN", before.fade_in, before.fade_in_shape, before.fade_in_dir)
	end
	if nxt then
		set_fade(pc.item, "OUT", nxt.pre + pc.post, 0, 0)
	else
		set_fade(pc.item, "OUT", before.fade_out, before.fade_out_shape, before.fade_out_dir)
	end
	local leaves = false
	-- Split pieces keep the item's take lanes, so takes are matched by lane index.
	for k = 0, reaper.CountTakes(pc.item) - 1 do
		local take = reaper.GetTake(pc.item, k)
		local lane = before.lanes[k]
		local tf = lane and lane.t0 and lane.t0 + (pc.s - P) * r -- take frame at the piece's join
		if take and tf and in_gap(before.gaps, math.floor(tf + 0.5)) then
			-- No clean audio here: the recording plays on, as it was.
			local old = reaper.GetMediaItemTake_Source(take)
			local rec = reaper.PCM_Source_CreateFromFile(plan.group.file)
			if rec then
				reaper.SetMediaItemTake_Source(take, rec)
				if old then reaper.PCM_Source_Destroy(old) end
				reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", (tf - pc.pre * r) / r)
				reaper.SetMediaItemTakeInfo_Value(take, "I_CHANMODE", lane.chanmode)
				reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", lane.name, true)
			end
		elseif take and tf then
			local d = offset_at(plan.report.segments, math.floor(tf + 0.5))
			local c0 = tf + d - pc.pre * r
			reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", c0 / r)
			if c0 < -0.5 or c0 + len * r > plan.clean_frames + 0.5 then leaves = true end
		elseif take and lane then
			reaper.SetMediaItemTakeInfo_Value(take, "D_STARTOFFS", lane.so + (pos - P) * lane.rate)
		end
	end
	-- A looped source wraps around where a piece reads past the clean file's ends: there
	-- is no clean audio, so silence, not the other end of the file.
	if leaves and before.loopsrc then reaper.SetMediaItemInfo_Value(pc.item, "B_LOOPSRC", 0) end
end

-- Replaces the recording's takes in one item. `entries`: {take, t0}. Returns false (item
-- untouched) if the clean file cannot be opened.
function M.apply_item(plan, cfg, item, entries, counts)
	local sources = open_sources(plan.clean_path, #entries)
	if not sources then return false end
	local P = reaper.GetMediaItemInfo_Value(item, "D_POSITION")
	local L = reaper.GetMediaItemInfo_Value(item, "D_LENGTH")
	local before = {
		fade_in = reaper.GetMediaItemInfo_Value(item, "D_FADEINLEN"),
		fade_out = reaper.GetMediaItemInfo_Value(item, "D_FADEOUTLEN"),
		fade_in_shape = reaper.GetMediaItemInfo_Value(item, "C_FADEINSHAPE"),
		fade_out_shape = reaper.GetMediaItemInfo_Value(item, "C_FADEOUTSHAPE"),
		fade_in_dir = reaper.GetMediaItemInfo_Value(item, "D_FADEINDIR"),
		fade_out_dir = reaper.GetMediaItemInfo_Value(item, "D_FADEOUTDIR"),
		loopsrc = reaper.GetMediaItemInfo_Value(item, "B_LOOPSRC") ~= 0,
		lanes = {},
		gaps = gaps_of(plan.report),
	}
	local t0_of = {}
	for _, e in ipairs(entries) do t0_of[e.take] = e.t0 end
	for k = 0, reaper.CountTakes(item) - 1 do
		local take = reaper.GetTake(item, k)
		if take then
			local _, name = reaper.GetSetMediaItemTakeInfo_String(take, "P_NAME", "", false)
			before.lanes[k] = { t0 = t0_of[take], so = reaper.GetMediaItemTakeInfo_Value(take, "D_STARTOFFS"),
				rate = reaper.GetMediaItemTakeInfo_Value(take, "D_PLAYRATE"),
				chanmode = reaper.GetMediaItemTakeInfo_Value(take, "I_CHANMODE"), name = name or "" }
		end
	end
	local joins = survey_item(plan, cfg, entries, P, L, counts)

	-- New clean source on every take of the recording; the old source is destroyed (REAPER
	-- leaves that to the caller). The recorded file itself stays as it is.
	for i, e in ipairs(entries) do
		local old = reaper.GetMediaItemTake_Source(e.take)
		reaper.SetMediaItemTake_Source(e.take, sources[i])
		if old then reaper.PCM_Source_Destroy(old) end
		local _, name = reaper.GetSetMediaItemTakeInfo_String(e.take, "P_NAME", "", false)
		if not (name or ""):find(M.CLEAN_TAG, 1, true) then
			reaper.GetSetMediaItemTakeInfo_String(e.take, "P_NAME", (name or "") .. M.CLEAN_TAG, true)
		end
		if plan.chanmode then reaper.SetMediaItemTakeInfo_Value(e.take, "I_CHANMODE", plan.chanmode) end
		counts.takes = counts.takes + 1
	end

	local pieces = split_at_joins(item, P, L, joins, counts)
	-- Linear (equal-gain) fades, shape 0 and curvature 0: both sides of a join are the same
	-- continuous performance a few milliseconds apart, i.e. correlated material, where an
	-- equal-gain crossfade keeps the level. (ghostrec-sync renders equal-power crossfades;
	-- REAPER documents its shapes only as "0..6, 0=linear".)
	plan_overlaps(pieces, (cfg.join == "crossfade") and (cfg.xfade_ms / 1000 / 2) or 0)
	local overlapping = false
	for _, pc in ipairs(pieces) do if pc.pre > 0 or pc.post > 0 then overlapping = true end end
	for i = 1, #pieces do
		place_piece(pieces, i, before, plan, P)
		if overlapping then set_always_mix(pieces[i].item) end
	end
	return true
end

return M
