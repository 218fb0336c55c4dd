-- @noindex
-- ghostrec conform (EDL) engine: a line-by-line translation of common/conform.c. Pure Lua
-- 5.3/5.4.
--
-- API (M.conform_run(take_info, clean_info, meta, opt) -> report | nil, err):
--   meta = takemeta.clean_meta(clean_info): {valid, take_id, marker_frame, gaps}; gaps are
--     the clean file's gap ranges (docs/contracts.md "Gaps"), WAV cue regions + sidecar.
--   report.glitches[i].kind is "replaced" | "dropped" | "inserted" | "gap" | "repeated" |
--     "reordered". "repeated" (take_frame, frames): the take plays clean audio it already had
--     once more (PWAR's late duplicate); the segment from take_frame on maps those frames to
--     that audio again, nothing is inserted, no split needs a crossfade there. "reordered":
--     two runs in swapped order (PWAR v0.1); the segment keeps its offset over them, so the
--     clean source plays them in clean order, no split. A "gap" glitch
--     (take_frame, frames) is take audio with NO clean counterpart: those frames are in no
--     segment and an apply must keep the take's own source there (never the clean file's
--     zeros, no crossfade into them), even when the segments on both sides have the same
--     offset.
--   opt.check_step, opt.max_shift, opt.marker_scan (frames), opt.progress(done, total).
--   opt.phase(name): called as each phase starts ("marker", "anchor", "walk", "verify") and
--     once more at the end ("done"), for benchmarks that time them.
--   opt.yield: a function the engine calls between bounded slices of work (every
--     opt.yield_work work units, default YIELD_WORK: at most about 5-10 ms of lua5.4 on a
--     slow core; one unit ~ one frame compared one by one). REAPER's UI thread must not run
--     one slice longer than ~100 ms, so a deferred script runs conform_run inside a
--     coroutine with opt.yield = coroutine.yield (or a yield that checks the time first, as
--     slice.maybe_yield does, so one UI cycle does several) and resumes it from its defer
--     callback, e.g.
--       local co = coroutine.create(function()
--         return core.conform_run(ti, ci, meta, { yield = coroutine.yield }) end)
--       local function step()
--         local ok, report, err = coroutine.resume(co)
--         if coroutine.status(co) ~= "dead" then reaper.defer(step) return end
--         -- ok == false: an error; else report (nil + err on bad input)
--       end
--     Without opt.yield the engine runs to the end in one call (the result is the same).
local audiofile = require("ghostrec.audiofile")
local marker = require("ghostrec.marker")

local M = {}

local abs = math.abs
local unpack_batch, batch_format = audiofile.UNPACK_BATCH, audiofile.batch_format
local MARKER_FRAMES = marker.MARKER_FRAMES
local MARKER_PREAMBLE_FRAMES = marker.MARKER_PREAMBLE_FRAMES

---------------------------------------------------------------------------------------------
-- Conform engine: a line-by-line translation of common/conform.c (same function names and
-- order). Frame arithmetic is integer; comparisons are in double precision like the C.
-- The scans of the clean file for one take frame read it in blocks (scan_clean, as in the
-- C); verify_segments' frame-by-frame pass reads take and clean in blocks too
-- (segment_matcher, where the C relies on its reader's block cache). The walk and the
-- verification share one compare of each block of GRID frames on an offset (grid_bad; the
-- C keeps the walk's differing frames the same way). Same results.
---------------------------------------------------------------------------------------------

local GLITCH_REPLACED, GLITCH_DROPPED, GLITCH_INSERTED, GLITCH_GAP = 0, 1, 2, 3
local GLITCH_REPEATED, GLITCH_REORDERED = 4, 5
local ALIGN_MARKER, ALIGN_CONTENT = 0, 1
local glitch_kind_names = { [0] = "replaced", [1] = "dropped", [2] = "inserted", [3] = "gap",
	[4] = "repeated", [5] = "reordered" }

-- A verification window must see this many non-silent take samples (summed over the
-- compared channels) that all match before an alignment is believed.
local WINDOW_NONSILENT = 32
-- ... looking at most this many frames ahead for them.
local WINDOW_MAX_FRAMES = 4096
-- At the very end of the take fewer samples are all there is; accept this many.
local WINDOW_TAIL_NONSILENT = 8
-- Content search: candidate take positions this far apart, at most this many tried.
local ANCHOR_STEP = 4096
local ANCHOR_TRIES = 16
-- Re-acquisition after glitches of several kinds back to back: candidate take positions
-- this far apart, each searched within max_shift of the old offset.
local FINE_STEP = 64
M.CONFORM_CHECK_STEP = 16
-- Work units between two opt.yield calls (see the header).
local YIELD_WORK = 3000
M.CONFORM_YIELD_WORK = YIELD_WORK

-- Counts work; calls opt.yield after every yield_work units.
local function tick(e, n)
	local w = e.work + n
	if w >= e.yield_work then
		e.work = 0
		if e.yield then e.yield() end
	else
		e.work = w
	end
end

function M.glitch_kind_name(kind)
	return glitch_kind_names[kind] or "inserted"
end

-- ---- results ----

local function add_segment(e, take_start, take_end, d)
	if take_end <= take_start then return end
	local r = e.res
	r.segments[#r.segments + 1] = { take_start = take_start, take_end = take_end, clean_start = take_start + d }
end

local function add_glitch(e, take_frame, kind, frames)
	if frames <= 0 then return end
	local r = e.res
	r.glitches[#r.glitches + 1] = { take_frame = take_frame, kind = glitch_kind_names[kind], frames = frames }
end

-- ---- gaps ----

-- Index (1-based) of the first gap that ends after clean frame c (#gaps + 1 if none).
local function gap_after(e, c)
	local gaps = e.gaps
	local lo, hi = 1, #gaps + 1
	while lo < hi do
		local mid = lo + (hi - lo) // 2
		if gaps[mid].frame + gaps[mid].frames <= c then lo = mid + 1 else hi = mid end
	end
	return lo
end

-- Does clean frame c lie in a gap (no audio there, whatever the file holds)?
local function in_gap(e, c)
	if e.n_gaps == 0 then return false end
	local i = gap_after(e, c)
	return i <= e.n_gaps and e.gaps[i].frame <= c
end

-- ---- comparing frames ----

-- The larger of the two formats' quantization allowances (marker tolerance).
function M.conform_tolerance(take_info, clean_info)
	local a = marker.marker_tolerance(audiofile.format_bits(take_info))
	local b = marker.marker_tolerance(audiofile.format_bits(clean_info))
	return a > b and a or b
end

local function sample_matches(x, y, tol)
	return abs(x - y) <= tol
end

local function marker_fits(e, i, x)
	local s = e.marker_sym[i]
	if s == 0 then return abs(x) <= e.tol end
	if e.marker_sign_known[i] then return sample_matches(x, s * e.marker_amp, e.tol) end
	return sample_matches(abs(x), e.marker_amp, e.tol)
end

-- Take frame t against clean frame c, all compared channels.
local function frame_matches(e, t, c)
	tick(e, 1)
	if t < 0 or t >= e.take_frames or c < 0 or c >= e.clean_frames or in_gap(e, c) then return false end
	-- A decoded marker in the take: those frames carry no clean audio; trust them (on the
	-- marker's own offset, when the metadata gives it: a drop right before the marker must
	-- not carry the offset before it across the marker).
	if e.marker_take >= 0 and t >= e.marker_take and t < e.marker_take + MARKER_FRAMES then
		return not e.marker_d_known or c - t == e.marker_d
	end
	local T, C = e.take, e.clean
	local n = e.take_channels < 64 and e.take_channels or 64
	local in_marker = e.marker_clean >= 0 and c >= e.marker_clean and c < e.marker_clean + MARKER_FRAMES
	local tol = e.tol
	for k = 0, n - 1 do
		local x = T:sample(t, k)
		if x == nil then return false end
		local y = C:sample(c, e.clean_channel + k)
		if y == nil then return false end
		if not (abs(x - y) <= tol) then
			if not (in_marker and marker_fits(e, c - e.marker_clean, x)) then return false end
		end
	end
	return true
end

-- Number of take samples in frame t louder than the tolerance.
local function frame_nonsilent(e, t)
	local count = 0
	for k = 0, e.take_channels - 1 do
		local x = e.take:sample(t, k)
		if x == nil then return 0 end
		if abs(x) > e.tol then count = count + 1 end
	end
	return count
end

-- Verification window: frames from (t, c) on all match until WINDOW_NONSILENT non-silent
-- take samples have been seen.
local function window_matches(e, t, c)
	local nonsilent = 0
	for i = 0, WINDOW_MAX_FRAMES - 1 do
		-- The end of the take, or a gap in the clean file, ends the evidence.
		if t + i >= e.take_frames or in_gap(e, c + i) then return nonsilent >= WINDOW_TAIL_NONSILENT end
		if not frame_matches(e, t + i, c + i) then return false end
		nonsilent = nonsilent + frame_nonsilent(e, t + i)
		if nonsilent >= WINDOW_NONSILENT then return true end
	end
	return false
end

-- Is there enough sound after take frame t for a window to prove anything? The C counts
-- frame by frame; here the take's block is read at once: raw bytes that are all zero are
-- silence (in every format but unsigned 8-bit), else the samples are counted (the count
-- reaches WINDOW_NONSILENT within the block or never: same answer). Counts as work, so a
-- long silent take searched by content yields between slices.
local function window_has_sound(e, t)
	local n = WINDOW_MAX_FRAMES
	if t + n > e.take_frames then n = e.take_frames - t end
	local T = e.take
	local bytes, got = "", 0
	if t >= 0 and n > 0 then bytes, got = T:raw(t, n) end
	tick(e, n // 8)
	if got < n then
		-- A short read: the frame-by-frame count (frames not read count as silent).
		local nonsilent = 0
		local i = 0
		while i < WINDOW_MAX_FRAMES and t + i < e.take_frames do
			nonsilent = nonsilent + frame_nonsilent(e, t + i)
			if nonsilent >= WINDOW_NONSILENT then return true end
			i = i + 1
		end
		return false
	end
	if not T.u8 and audiofile.all_zero(bytes) then return false end
	local vals = T:decode(bytes, got, e.scratch)
	local tol, count = e.tol, 0
	for i = 1, got * e.take_channels do
		local x = vals[i]
		if x > tol or x < -tol then
			count = count + 1
			if count >= WINDOW_NONSILENT then return true end
		end
	end
	return false
end

-- scan_clean's test of the compared channels after the first: take samples x[1 .. n - 1]
-- against clean samples vals[j + 1 .. j + n - 1] * scale; with marker_i (the clean frame's
-- index in the damaged marker), a sample that fits the marker symbol there passes too.
local function other_channels_match(e, x, n, vals, j, scale, marker_i)
	local tol = e.tol
	for k = 1, n - 1 do
		local xk = x[k]
		local dk = xk - vals[j + k] * scale
		if not (dk <= tol and dk >= -tol) and not (marker_i and marker_fits(e, marker_i, xk)) then return false end
	end
	return true
end

-- First clean frame c in [c_from, c_to) where take frame t matches and the window from
-- (t, c) holds, or nil (scan_clean in the C): the loop `for (c ...) if (frame_matches &&
-- window_matches)`, with the frame test done on clean blocks read at once.
local SCAN_BLOCK = 16384
local function scan_clean(e, t, c_from, c_to)
	if c_from < 0 then c_from = 0 end
	if c_to > e.clean_frames then c_to = e.clean_frames end
	if t < 0 or t >= e.take_frames then return nil end
	if e.marker_take >= 0 and t >= e.marker_take and t < e.marker_take + MARKER_FRAMES then
		for c = c_from, c_to - 1 do
			if frame_matches(e, t, c) and window_matches(e, t, c) then return c end
		end
		return nil
	end
	local n = e.take_channels < 64 and e.take_channels or 64
	local x = {}
	for k = 0, n - 1 do
		x[k] = e.take:sample(t, k)
		if x[k] == nil then return nil end
	end
	local tol, cc, ch0 = e.tol, e.clean_channels, e.clean_channel
	local mc = e.marker_clean
	local C = e.clean
	local x0 = x[0]
	local cs = c_from
	local letter, scale = C.letter, C.scale
	local simple = letter == "f" or letter == "i2" or letter == "i3"
	local fpb = unpack_batch // cc
	if fpb < 1 then fpb = 1 end
	while cs < c_to do
		local cnt = c_to - cs
		if cnt > SCAN_BLOCK then cnt = SCAN_BLOCK end
		if simple and not (mc >= 0 and cs < mc + MARKER_FRAMES and cs + cnt > mc) then
			-- No marker frame in this block: the same tests on the raw block decoded in
			-- batches, the first compared channel first.
			local raw, got = C:raw(cs, cnt)
			tick(e, got // 4)
			local pos, done = 1, 0
			while done < got do
				local nf = got - done
				if nf > fpb then nf = fpb end
				local v = { string.unpack(batch_format(letter, nf * cc), raw, pos) }
				pos = v[nf * cc + 1]
				local j = ch0 + 1
				for i = 0, nf - 1 do
					local dv = x0 - v[j] * scale
					if dv <= tol and dv >= -tol then
						local c = cs + done + i
						if not (e.n_gaps > 0 and in_gap(e, c)) and other_channels_match(e, x, n, v, j, scale, nil)
							and window_matches(e, t, c) then
							return c
						end
					end
					j = j + cc
				end
				done = done + nf
			end
			if got < cnt then return nil end
			cs = cs + cnt
			goto next_block
		end
		do
		local blk, got = C:read(cs, cnt)
		tick(e, got // 4)
		for i = 0, got - 1 do
			local base = i * cc + ch0 + 1
			local c = cs + i
			local in_marker = mc >= 0 and c >= mc and c < mc + MARKER_FRAMES
			local y = blk[base]
			local ok = abs(x0 - y) <= tol or (in_marker and marker_fits(e, c - mc, x0))
			if ok and e.n_gaps > 0 and in_gap(e, c) then ok = false end
			if ok and other_channels_match(e, x, n, blk, base, 1, in_marker and c - mc or nil)
				and window_matches(e, t, c) then
				return c
			end
		end
		if got < cnt then return nil end
		cs = cs + cnt
		end
		::next_block::
	end
	return nil
end

-- ---- first alignment ----

-- Content search: the first take position t0 in [t_from, t_to) (ANCHOR_STEP apart, silent
-- ones skipped) whose window matches somewhere in the clean file. Returns t0, d or nil.
local function find_anchor(e, t_from, t_to, try_channels)
	local tries = 0
	local first_channel = try_channels and 0 or e.clean_channel
	local last_channel = try_channels and (e.clean_channels - e.take_channels) or e.clean_channel
	local t0 = t_from
	while t0 < t_to and tries < ANCHOR_TRIES do
		if window_has_sound(e, t0) then
			tries = tries + 1
			for ch = first_channel, last_channel do
				e.clean_channel = ch
				local c = scan_clean(e, t0, 0, e.clean_frames)
				if c then return t0, c - t0 end
			end
			e.clean_channel = first_channel
		end
		t0 = t0 + ANCHOR_STEP
	end
	return nil
end

-- Looks for the marker in the head of every take channel, channel by channel, reading the
-- head in overlapping chunks (MARKER_SCAN_CHUNK, in marker.lua) so memory stays small
-- whatever the rate and channel count.
local function find_take_marker(e, scan)
	local n = e.take_frames < scan and e.take_frames or scan
	if n < MARKER_FRAMES then return nil end
	local progress = e.yield and function() tick(e, e.yield_work) end or nil
	return marker.find_take_marker(e.take.info, nil, e.tol, progress, n)
end

-- Extends an alignment backwards from take frame `from` while frames match. The C goes frame
-- by frame; here a grid block that a block compare may decide (grid_bad, below: the walk and
-- the verification compare the same blocks on the same offset later, so they cost nothing
-- more) is passed at once down to its last differing frame; blocks that are not plain, or
-- that hold gap frames, go frame by frame. Same result.
local GRID -- (set with grid_bad below)
local grid_bad
local function gap_in(e, c0, c1) -- does a gap hold a clean frame in [c0, c1)?
	if e.n_gaps == 0 then return false end
	local i = gap_after(e, c0)
	return i <= e.n_gaps and e.gaps[i].frame < c1
end

local function extend_back(e, from, d)
	local s = from
	while s > 0 and s - 1 + d >= 0 do
		local i = (s - 1) // GRID
		local a = i * GRID
		local bad = nil
		if not gap_in(e, a + d, a + GRID + d) then bad = grid_bad(e, i, d) end
		if bad then
			for j = #bad, 1, -1 do
				if bad[j] < s then return bad[j] + 1 end
			end
			s = a
		else
			while s > a and s - 1 + d >= 0 and frame_matches(e, s - 1, s - 1 + d) do s = s - 1 end
			if s > a then return s end
		end
	end
	return s
end

-- ---- re-acquisition after a mismatch ----

-- First differing frame in [lo, hi]; hi is known to differ, everything before lo matched.
local function first_bad(e, lo, hi, d)
	while lo < hi do
		local mid = lo + (hi - lo) // 2
		if frame_matches(e, mid, mid + d) then lo = mid + 1 else hi = mid end
	end
	return lo
end

-- Glitches of several kinds back to back (silence then a drop, an insertion then a drop):
-- no single rule above explains them. Look for any offset within max_shift of the old one,
-- at take positions FINE_STEP apart after f, then move the join back to the first frame
-- after f that the new offset explains, so no good frame is left on the old offset.
-- Returns t2, d2 or nil.
local function reacquire_nearby(e, f, d, t_limit)
	local t0 = f + 1
	while t0 < t_limit and t0 <= f + e.max_shift and t0 < e.take_frames do
		-- A silent frame lines up with any silence: no anchor (and skipping the silence of
		-- a replaced run keeps this cheap).
		if not (frame_nonsilent(e, t0) == 0 or not window_has_sound(e, t0)) then
			local c_lo = t0 + d - e.max_shift
			local c_hi = t0 + d + e.max_shift
			if c_lo < 0 then c_lo = 0 end
			if c_hi > e.clean_frames - 1 then c_hi = e.clean_frames - 1 end
			-- for (c = c_lo; c <= c_hi; c++) if (frame_matches && window_matches)
			local c = scan_clean(e, t0, c_lo, c_hi + 1)
			if c then
				local nd = c - t0
				local s = t0
				while s > f + 1 and frame_matches(e, s - 1, s - 1 + nd) do s = s - 1 end
				return s, nd
			end
		end
		t0 = t0 + FINE_STEP
	end
	return nil
end

-- Earliest (t2 >= f, d2) where the take lines up with the clean file again.
-- Order: a drop (t2 == f: the take continues further on in the clean file), then, frame
-- by frame after f, the end of a replaced run (same d) or of an insertion (the clean
-- file continues where it left off, at f + d); then any nearby offset (glitches back to
-- back); last, a content search over the whole clean file. Returns t2, d2 or nil.
local function reacquire(e, f, d)
	-- for (n = 1; n <= max_shift && f + d + n < clean_frames; n++)
	local c = scan_clean(e, f, f + d + 1, math.min(f + d + e.max_shift, e.clean_frames - 1) + 1)
	if c then return f, c - f end
	local found_t, found_d = -1, 0
	local t = f + 1
	while t <= f + e.max_shift and t < e.take_frames do
		if frame_matches(e, t, t + d) and window_matches(e, t, t + d) then
			found_t = t
			found_d = d
			break
		end
		if frame_matches(e, t, f + d) and window_matches(e, t, f + d) then
			found_t = t
			found_d = f + d - t
			break
		end
		t = t + 1
	end
	if found_t >= 0 then
		-- The take lines up again on a simple rule only at found_t. Before [f, found_t) is
		-- believed to be one replaced (or inserted) run, make sure no other offset explains
		-- frames inside it: glitches that shift the offset, undone by others within
		-- max_shift, would otherwise read as one long run mapped to the wrong audio.
		if found_t - f > FINE_STEP then
			local t2, d2 = reacquire_nearby(e, f, d, found_t)
			if t2 then return t2, d2 end
		end
		return found_t, found_d
	end
	local t2, d2 = reacquire_nearby(e, f, d, f + e.max_shift + 1)
	if t2 then return t2, d2 end
	t2, d2 = find_anchor(e, f + 1, e.take_frames, false)
	if t2 then return t2, d2 end
	return nil
end

-- How far take frame t is from clean frame c, which it matches (frame_matches): the sum of
-- the compared samples' distances to the clean samples (or, where only a damaged marker's
-- symbol explains a sample, to that symbol).
local function frame_distance(e, t, c)
	if e.marker_take >= 0 and t >= e.marker_take and t < e.marker_take + MARKER_FRAMES then return 0.0 end
	local T, C = e.take, e.clean
	local n = e.take_channels < 64 and e.take_channels or 64
	local sum = 0.0
	for k = 0, n - 1 do
		local x = T:sample(t, k)
		if x == nil then return 0.0 end
		local y = C:sample(c, e.clean_channel + k)
		if y == nil then return 0.0 end
		if abs(x - y) <= e.tol then
			sum = sum + abs(x - y)
		else
			local i = c - e.marker_clean
			local sy = e.marker_sym[i]
			if sy == 0 then
				sum = sum + abs(x)
			elseif e.marker_sign_known[i] then
				sum = sum + abs(x - sy * e.marker_amp)
			else
				sum = sum + abs(abs(x) - e.marker_amp)
			end
		end
	end
	return sum
end

-- The walk found a drop at f (the take goes on at f with offset d2 > e.d). f is a frame the
-- old offset does not explain, but not necessarily the first: the binary search between two
-- checkpoints, and the checkpoints themselves, can land on take frames after the drop that
-- still match the old offset (a 16-bit take's tolerance lets one frame in a few thousand
-- match other audio; a damaged marker's symbols fit other marker positions by sign or by
-- size). Returns where the drop really starts: no frame the old offset does not explain is
-- left on it, and frames both offsets explain go to the one they are closer to. On a tie
-- (a damaged marker's symbols, exact on either offset) the drop goes where the old offset
-- would go on at a marker frame whose index has the most trailing zero bits: the node starts
-- the marker at a graph cycle and relays lose whole cycles. Otherwise, the new offset. Never
-- before the open segment or the last glitch.
local function marker_grid_rank(e, j)
	local k = j + e.d - e.marker_clean
	if e.marker_clean < 0 or k < 0 or k > MARKER_FRAMES then return -1 end
	if k == 0 then return 64 end
	local rank = 0
	while k % 2 == 0 do
		k = k // 2
		rank = rank + 1
	end
	return rank
end

local function drop_join_back(e, f, d2)
	local floor = e.seg_start
	local gl = e.res.glitches
	local g = gl[#gl]
	if g then
		local stop = g.kind == "dropped" and g.take_frame or g.take_frame + g.frames
		if stop > floor then floor = stop end
	end
	-- [lo, f): the frames before f the new offset explains; [lo, hi): those of them the old
	-- offset explains too (hi: the first it does not).
	local lo = f
	while lo > floor and frame_matches(e, lo - 1, lo - 1 + d2) do lo = lo - 1 end
	local hi = lo
	while hi < f and frame_matches(e, hi, hi + e.d) do hi = hi + 1 end
	-- The join j in [lo, hi] with [lo, j) on the old offset, [j, hi) on the new one, nearest.
	local cost = 0.0
	for x = lo, hi - 1 do cost = cost + frame_distance(e, x, x + d2) end
	local best, join = cost, lo
	for j = lo + 1, hi do
		cost = cost + frame_distance(e, j - 1, j - 1 + e.d) - frame_distance(e, j - 1, j - 1 + d2)
		if cost < best or (cost == best and marker_grid_rank(e, j) > marker_grid_rank(e, join)) then
			best = cost
			join = j
		end
	end
	return join
end

-- Records what happened between the first differing frame f (offset e.d) and the
-- re-acquired alignment (t2, d2); returns where the walk goes on (t2, or the end of a
-- repeated run).
local function record_glitch(e, f, t2, d2)
	local d = e.d
	if d2 == d then
		add_glitch(e, f, GLITCH_REPLACED, t2 - f)
	elseif d2 > d then
		-- Clean frames are missing; anything odd before t2 still maps with the old d.
		add_glitch(e, f, GLITCH_REPLACED, t2 - f)
		add_segment(e, e.seg_start, t2, d)
		add_glitch(e, t2, GLITCH_DROPPED, d2 - d)
		e.seg_start = t2
	else
		local n = d - d2
		-- A repeat (PWAR's late duplicate): the take frames before t2 are the n clean
		-- frames just before t2 + d2 once more, i.e. they match on the new offset too.
		local r0 = t2
		while r0 > f and t2 - r0 < n and frame_matches(e, r0 - 1, r0 - 1 + d2) do r0 = r0 - 1 end
		if r0 == f or (t2 - f >= n and t2 - r0 >= n) then
			local at = (r0 == f) and f or (t2 - n)
			add_glitch(e, f, GLITCH_REPLACED, at - f)
			add_segment(e, e.seg_start, at, d)
			-- A block played again from further back than the one just before (a duplicate
			-- that arrived late): the run on d2 is shorter than the jump; after it the take
			-- should go on where it left off, at at + d (the walk checks).
			local len = 0
			while len < n and frame_matches(e, at + len, at + len + d2) do len = len + 1 end
			if len > 0 and len < n then
				add_glitch(e, at, GLITCH_REPEATED, len)
				add_segment(e, at, at + len, d2)
				e.seg_start = at + len
				e.d = d - len
				return at + len
			end
			add_glitch(e, at, GLITCH_REPEATED, n)
			e.seg_start = at
			e.d = d2
			return t2
		end
		if t2 - f >= n then
			-- The last n frames before t2 are the extra ones.
			add_glitch(e, f, GLITCH_REPLACED, t2 - n - f)
			add_segment(e, e.seg_start, t2 - n, d)
			add_glitch(e, t2 - n, GLITCH_INSERTED, n)
		else
			-- The take repeats clean audio it already had: [f, t2) has no place.
			add_segment(e, e.seg_start, f, d)
			add_glitch(e, f, GLITCH_INSERTED, t2 - f)
		end
		e.seg_start = t2
	end
	e.d = d2
	return t2
end

-- Two runs of clean audio in swapped order (PWAR v0.1 / PR #4 call bufferSwitch per packet:
-- a reordered packet swaps two blocks). The walk found a drop of b frames at f (d2 = d + b):
-- if the take then has a run C on d2, followed by the b skipped frames B (the clean audio at
-- f + d, offset d - |C|), the take holds C B where the clean file holds B C. Returns
-- |B| + |C| then, else 0. Runs are at most REORDER_MAX frames (a packet or an ASIO block).
-- After B the take goes on with the old offset d, or (the packet after them lost too) with a
-- later one the walk finds. The first m of the b skipped frames may be lost as well (a lost
-- packet right before the swapped pair): then the take holds C B' with B' the last b - m
-- skipped frames; returns |B'| + |C| and m (the span is on the offset d + m).
local REORDER_MAX = 8192

-- Do take frames [t, t + n) match clean frames from c on, with enough sound among them to
-- prove it (a run followed by other audio: no window after it to ask)?
local function run_matches(e, t, c, n)
	local nonsilent = 0
	for i = 0, n - 1 do
		if not frame_matches(e, t + i, c + i) then return false end
		nonsilent = nonsilent + frame_nonsilent(e, t + i)
	end
	return nonsilent >= WINDOW_NONSILENT
end

local function reordered_span(e, f, d2)
	local d = e.d
	local b = d2 - d
	if b <= 0 or b > REORDER_MAX then return 0, 0 end
	local lim = f + REORDER_MAX < e.take_frames and f + REORDER_MAX or e.take_frames
	local c_end = lim
	local t = f
	while t < lim do
		local q = t + e.check_step < lim and t + e.check_step or lim
		if frame_matches(e, q - 1, q - 1 + d2) then
			t = q
		else
			c_end = first_bad(e, t, q - 1, d2)
			break
		end
	end
	local c = c_end - f
	if c <= 0 or c_end >= lim or c_end + b >= e.take_frames then return 0, 0 end
	local whole = true
	local tt = c_end
	while tt < c_end + b and whole do
		whole = frame_matches(e, tt, tt + d - c)
		tt = tt + 1
	end
	if whole and window_matches(e, c_end + b, c_end + b + d) then return b + c, 0 end
	if whole and run_matches(e, c_end, c_end + d - c, b) then
		return b + c, 0 -- the take goes on with another offset after B
	end
	-- B' = skipped frames [m, b): the take frame after C is clean frame f + d + m.
	for m = 1, b - 1 do
		if frame_matches(e, c_end, f + d + m) and run_matches(e, c_end, f + d + m, b - m) then
			return b - m + c, m
		end
	end
	return 0, 0
end

-- The mismatch at f could not be explained: replaced audio up to the end if the rest is
-- short and fits the clean file, else no known clean counterpart. Returns the segment end.
local function unexplained_tail(e, f)
	local rest = e.take_frames - f
	if rest <= WINDOW_MAX_FRAMES and e.take_frames + e.d <= e.clean_frames then
		local last = e.take_frames - 1
		while last > f and frame_matches(e, last, last + e.d) do last = last - 1 end
		add_glitch(e, f, GLITCH_REPLACED, last + 1 - f)
		return e.take_frames
	end
	return f
end

-- ---- gaps in the walk ----

-- After a gap: the earliest take frame t0 >= t_exp (FINE_STEP apart, silent ones skipped)
-- that lines up with clean audio after the gap's end c_end, within max_shift of the old
-- offset; else a content search over the rest of the take. Returns t2, d2 or nil.
local function find_after_gap(e, t_exp, c_end)
	local d = e.d
	local t0 = t_exp
	while t0 <= t_exp + e.max_shift and t0 < e.take_frames do
		if not (frame_nonsilent(e, t0) == 0 or not window_has_sound(e, t0)) then
			local c_lo = t0 + d - e.max_shift
			local c_hi = t0 + d + e.max_shift
			if c_lo < c_end then c_lo = c_end end
			if c_hi > e.clean_frames - 1 then c_hi = e.clean_frames - 1 end
			local c = scan_clean(e, t0, c_lo, c_hi + 1)
			if c then return t0, c - t0 end
		end
		t0 = t0 + FINE_STEP
	end
	return find_anchor(e, t_exp, e.take_frames, false)
end

-- The walk reached take frame tg, whose clean frame tg + d is the start of (or inside) gap
-- gi. Closes the open segment, reports the take frames mapped into the gap, and moves the
-- walk to where the take lines up again after it. Returns the next take frame and whether
-- the walk goes on (false: nothing after the gap lines up; the rest keeps its own audio).
local function cross_gap(e, tg, gi)
	local d = e.d
	local c_end = e.gaps[gi].frame + e.gaps[gi].frames
	local t_exp = c_end - d -- the take frame that maps to c_end with the old offset
	add_segment(e, e.seg_start, tg, d)
	local t2, d2 = -1, d
	if t_exp < e.take_frames and c_end < e.clean_frames then
		if frame_matches(e, t_exp, c_end) and window_matches(e, t_exp, c_end) then
			t2 = t_exp
		else
			t2, d2 = find_after_gap(e, t_exp, c_end)
			if not t2 then t2, d2 = -1, d end
		end
	end
	if t2 < 0 then
		local last = t_exp < e.take_frames and t_exp or e.take_frames
		add_glitch(e, tg, GLITCH_GAP, last - tg)
		e.seg_start = last
		return last, false
	end
	-- Move the join back to the first take frame after tg the new offset explains.
	local s = t2
	while s > tg and frame_matches(e, s - 1, s - 1 + d2) do s = s - 1 end
	if s == tg and d2 > d then
		add_glitch(e, tg, GLITCH_DROPPED, d2 - d) -- the take lacks the gap too
	else
		add_glitch(e, tg, GLITCH_GAP, s - tg)
	end
	e.seg_start = s
	e.d = d2
	return s, true
end

-- Take frames before the walk's start whose clean frames lie in a gap: reported as gap.
local function head_gap(e, start, d)
	if start <= 0 or start - 1 + d < 0 or not in_gap(e, start - 1 + d) then return end
	local from = e.gaps[gap_after(e, start - 1 + d)].frame - d
	if from < 0 then from = 0 end
	add_glitch(e, from, GLITCH_GAP, start - from)
end

-- ---- the walk, a block of checkpoints at a time ----

-- Take frames [a, b) on offset d that a block compare may decide: none is a marker's frame
-- (take or clean side) and all lie inside both files (the others go through frame_matches).
local function plain_range(e, a, b, d)
	if a < 0 or a + d < 0 or b > e.take_frames or b + d > e.clean_frames then return false end
	local mt, mc = e.marker_take, e.marker_clean
	if mt >= 0 and a < mt + MARKER_FRAMES and b > mt then return false end
	if mc >= 0 and a + d < mc + MARKER_FRAMES and b + d > mc then return false end
	return true
end

-- ---- block compares ----

-- k decoded frames, take values tv (tc a frame) against clean values cv (cc a frame, from
-- channel ch0), the first m channels: the frames where some |v_t - v_c * r| > tol appended
-- to bad[nb + 1 ...] as first + frame. Returns nb.
local function mark_differing(tv, cv, k, tc, cc, ch0, m, r, tol, first, bad, nb)
	for f = 0, k - 1 do
		local tb, cb = f * tc, f * cc + ch0
		for j = 1, m do
			local dv = tv[tb + j] - cv[cb + j] * r
			if not (dv <= tol and dv >= -tol) then
				nb = nb + 1
				bad[nb] = first + f
				break
			end
		end
	end
	return nb
end

-- Frames [f0, f0 + k) of two raw blocks (string.unpack letters tl, cl; byte positions tp,
-- cp of frame f0; tc take samples a frame against clean samples ch0 ... of cc), compared
-- sample by sample: the differing ones (take frame a + f) appended to bad[nb + 1 ...].
-- Returns nb.
local function compare_frames(tbytes, cbytes, tp, cp, k, tl, cl, f0, r, tol, tc, cc, ch0, a, bad, nb)
	local tv = { string.unpack(batch_format(tl, k * tc), tbytes, tp) }
	local cv = { string.unpack(batch_format(cl, k * cc), cbytes, cp) }
	return mark_differing(tv, cv, k, tc, cc, ch0, tc, r, tol, a + f0, bad, nb)
end

-- The direct block compare of tc take samples a frame (letter tl) against clean samples
-- ch0 .. ch0 + tc - 1 of cc (letter cl): fn(tbytes, cbytes, frames, r, tol, a, bad) -> nb,
-- the frames where some |v_t - v_c * r| > tol. A run of frames (COMPARE_RUN clean samples
-- or fewer) is unpacked into locals (one string.unpack call per file, no table) and passed
-- by straight-line code generated once when every dv * dv <= (tol * TOL2_SAFE)^2: a test
-- that never passes a sample the exact one fails (|dv| is then below tol by a margin far
-- above the rounding of dv * dv; NaN fails too). A run where any sample fails it goes
-- through compare_frames, the exact test, which finds the differing frames (if any: a
-- sample just within tol lands there too).
--
-- A 16/24-bit take is unpacked two samples at a time, as one 32/48-bit integer v = h * 2^B +
-- u (B = 16/24; h the second sample, u the first one's B bits; about half the unpack work):
-- the first sample is (v << (64 - B)) / 2^(64 - B), exactly; v / 2^B = h + u / 2^B is the
-- second plus a fraction in [0, 1), so |v / 2^B - 1/2 - v_c * r| <= tol - 1/2 (with the same
-- margin) bounds |h - v_c * r| by tol. Both are tested in the clean file's units (the take's
-- values times q = 1 / r, a power of two: the same differences, scaled exactly). A run that
-- fails goes through compare_frames as above; the runs are PAIRED_RUN clean samples.
local COMPARE_RUN = 64
local PAIRED_RUN = 96 -- clean samples a run when the take's are paired (fewer locals)
local TOL2_SAFE = 1 - 2 ^ -20
local PAIR_BITS = { i2 = 16, i3 = 24 }
local compare_fns = {}

-- Straight-line tests of one run of k frames (take samples t1 .. t[k * tc], or paired into
-- v1 .. v[k * tc / 2]; clean samples c1 .. c[k * cc]); each failing test jumps to ::slow::.
local function run_tests(k, tc, cc, ch0, shift)
	local function clean_index(i) -- take sample i (1-based in the run) -> its clean sample
		local f, j = (i - 1) // tc, (i - 1) % tc
		return f * cc + ch0 + j + 1
	end
	local tests = {}
	if shift then
		for p = 1, k * tc // 2 do
			tests[#tests + 1] = string.format("do local d0, d1 = (v%d << %d) * QL - c%d, v%d * QH - c%d - HALF "
				.. "if not (d0 * d0 <= tl2) then goto slow end if not (d1 * d1 <= th2) then goto slow end end",
				p, shift, clean_index(2 * p - 1), p, clean_index(2 * p))
		end
	else
		for i = 1, k * tc do
			tests[#tests + 1] = string.format("do local dv = t%d - c%d * r if not (dv * dv <= tol2) then goto slow end end",
				i, clean_index(i))
		end
	end
	return table.concat(tests, "\n")
end

local function direct_compare_fn(T, C, tc, cc, ch0)
	local tl, cl = T.letter, C.letter
	local key = table.concat({ tl, cl, tc, cc, ch0 }, "/")
	local fn = compare_fns[key]
	if fn then return fn end
	local bits = PAIR_BITS[tl]
	local k = (bits and PAIRED_RUN or COMPARE_RUN) // cc
	if k < 1 then k = 1 end
	local paired = bits ~= nil and (k * tc) % 2 == 0
	if bits and not paired then
		k = COMPARE_RUN // cc
		if k < 1 then k = 1 end
	end
	local tn, cn = {}, {}
	for i = 1, paired and k * tc // 2 or k * tc do tn[i] = (paired and "v" or "t") .. i end
	for i = 1, k * cc do cn[i] = "c" .. i end
	local tstep = k * tc * T.info.bytes_per_sample
	local cstep = k * cc * C.info.bytes_per_sample
	local src = table.concat({
		"local compare_frames, ft, fc, tl, cl, tc, cc, ch0, TOL2_SAFE = ...",
		"return function(tbytes, cbytes, frames, r, tol, a, bad)",
		"local nb = 0",
		"local tol2 = tol * TOL2_SAFE",
		"tol2 = tol2 * tol2",
		paired and table.concat({
			-- the paired tests' constants, in the clean file's units
			"local q = 1 / r",
			string.format("local QL, QH, HALF = q / %.1f, q / %.1f, 0.5 * q", 2.0 ^ (64 - bits), 2.0 ^ bits),
			"local tl2 = tol * q * TOL2_SAFE",
			"tl2 = tl2 * tl2",
			"local th2 = -1.0",
			"if tol > 0.5 then th2 = (tol - 0.5) * q * TOL2_SAFE th2 = th2 * th2 end" }, "\n") or "",
		"local tp, cp, done = 1, 1, 0",
		"while done + " .. k .. " <= frames do",
		"local " .. table.concat(tn, ", ") .. " = string.unpack(ft, tbytes, tp)",
		"local " .. table.concat(cn, ", ") .. " = string.unpack(fc, cbytes, cp)",
		run_tests(k, tc, cc, ch0, paired and 64 - bits),
		"goto next",
		"::slow::",
		"nb = compare_frames(tbytes, cbytes, tp, cp, " .. k .. ", tl, cl, done, r, tol, tc, cc, ch0, a, bad, nb)",
		"::next::",
		"tp, cp, done = tp + " .. tstep .. ", cp + " .. cstep .. ", done + " .. k,
		"end",
		"if done < frames then",
		"nb = compare_frames(tbytes, cbytes, tp, cp, frames - done, tl, cl, done, r, tol, tc, cc, ch0, a, bad, nb)",
		"end",
		"return nb",
		"end" }, "\n")
	local ft = paired and ("<" .. string.rep("i" .. (bits // 4), k * tc // 2)) or batch_format(tl, k * tc)
	fn = assert(load(src, "=ghostrec.conform block compare", "t"))(compare_frames,
		ft, batch_format(cl, k * cc), tl, cl, tc, cc, ch0, TOL2_SAFE)
	compare_fns[key] = fn
	return fn
end

-- Compares take frames [a, a + n) with clean frames [a + d, a + d + n) (a plain range) and
-- stores the differing take frames in bad[1..nb], rising; returns nb, or nil when a file
-- gave fewer frames than asked (the caller goes frame by frame). The same test as
-- segment_frame_matches in the C (|x - y| <= tol on every compared channel, in double), on
-- blocks: equal raw bytes of two integer files in the same format decide a block at once;
-- otherwise both blocks are decoded and compared sample by sample.
local function block_bad(e, a, n, d, bad)
	local T, C = e.take, e.clean
	local tbytes, tg = T:raw(a, n)
	local cbytes, cg = C:raw(a + d, n)
	tick(e, n // 2)
	if tg < n or cg < n then return nil end
	if e.same_bytes and tbytes == cbytes then return 0 end
	local tc, tol = e.take_channels, e.tol
	if e.fast_compare then
		-- PCM 16/24 or float32 on both sides: decode and compare in one go. In the take's own
		-- units: x - y = (v_t - v_c * cs / ts) * ts, and the scales are powers of two, so
		-- |x - y| <= tol is |v_t - v_c * r| <= tol / ts exactly.
		return direct_compare_fn(T, C, tc, e.clean_channels, e.clean_channel)(tbytes, cbytes, n,
			C.scale / T.scale, tol / T.scale, a, bad)
	end
	local tv = T:decode(tbytes, n, e.scratch)
	local cv = C:decode(cbytes, n, e.scratch2)
	-- (r = 1: x * 1 is x exactly, NaN included)
	return mark_differing(tv, cv, n, tc, e.clean_channels, e.clean_channel, tc < 64 and tc or 64, 1, tol, a,
		bad, 0)
end


-- The walk and the verification compare the same frames on the same offset: blocks of GRID
-- take frames ([i * GRID, (i + 1) * GRID), on a fixed grid) are compared once, whole, and
-- their differing frames kept for both (by offset and block). The walk passes a checkpoint
-- that is not among them, the verification reports them. A block that is not plain, or
-- that a file could not give whole, is not compared here (nil): the callers go their own
-- way there. Blocks with many differing frames are not kept (compared again if needed).
GRID = 4096
local GRID_KEEP = 256
local NO_BAD = {}
function grid_bad(e, i, d)
	local per_d = e.grid[d]
	if not per_d then
		per_d = {}
		e.grid[d] = per_d
	end
	local bad = per_d[i]
	if bad ~= nil then return bad or nil end
	local a = i * GRID
	if not plain_range(e, a, a + GRID, d) then
		per_d[i] = false
		return nil
	end
	bad = {}
	local nb = block_bad(e, a, GRID, d, bad)
	if not nb then
		per_d[i] = false
		return nil
	end
	if nb == 0 then bad = NO_BAD end
	if nb <= GRID_KEEP then per_d[i] = bad end
	return bad
end

-- string.unpack formats that read the checkpoint frames of a raw block and jump over the
-- frames between them: per checkpoint `nvals` samples, then a `skip`-byte string (cN: far
-- cheaper to unpack than N x); `groups` checkpoints, the last one without its skip if `last`.
local stride_formats = {}
local function stride_format(letter, nvals, skip, groups, last)
	local key = letter .. ":" .. nvals .. ":" .. skip .. ":" .. groups .. (last and ":last" or "")
	local f = stride_formats[key]
	if not f then
		local one = string.rep(letter, nvals)
		local with_skip = skip > 0 and (one .. "c" .. skip) or one
		f = "<" .. string.rep(with_skip, last and groups - 1 or groups) .. (last and one or "")
		stride_formats[key] = f
	end
	return f
end

local STRIDE_GROUP = 64

-- Decodes the samples compared at checkpoints q, q + step, ... (n of them) of one file:
-- vals[j * nvals + k] is checkpoint j's sample k (1-based k; channels first, first + 1, ...).
-- Returns vals, or nil if the file gave fewer frames than asked.
local function checkpoint_samples(R, q, n, step, first, nvals, vals)
	local info = R.info
	local ba, bps = info.block_align, info.bytes_per_sample
	local frames = (n - 1) * step + 1
	local bytes, got = R:raw(q, frames)
	if got < frames then return nil end
	local skip = step * ba - nvals * bps
	local per = skip > 0 and nvals + 1 or nvals
	local pos = 1 + first * bps
	local letter, scale, unpack = R.letter, R.scale, string.unpack
	local j = 0
	while j < n do
		local g = n - j
		if g > STRIDE_GROUP then g = STRIDE_GROUP end
		local v = { unpack(stride_format(letter, nvals, skip, g, j + g == n), bytes, pos) }
		local o = j * nvals
		for gg = 0, g - 1 do
			local b, ob = gg * per, o + gg * nvals
			for k = 1, nvals do vals[ob + k] = v[b + k] * scale end
		end
		pos = v[#v]
		j = j + g
	end
	return vals
end

-- From take frame t (offset e.d, before limit), whole check_step steps whose checkpoints
-- (q = t + step - 1, the walk's frame_matches(q, q + d)) all match are passed over a block
-- at a time: equal raw bytes (same integer format), or the checkpoint frames alone decoded
-- and compared (|x - y| <= tol, the frame_matches test on a plain, gap-free stretch; the
-- walk's limit stops before the next gap). Returns the take frame where the walk's own
-- test goes on: a failing checkpoint, a partial last step, or a stretch that is not plain.
local WALK_STEPS = 1024
local function walk_ahead_stride(e, t, limit)
	if not e.direct_compare or e.take.u8 or e.clean.u8 then return t end
	local step, d = e.check_step, e.d
	local T, C = e.take, e.clean
	local tc, tol = e.take_channels, e.tol
	local tv, cv = e.scratch, e.scratch2
	while true do
		local nsteps = (limit - t) // step
		if nsteps > WALK_STEPS then nsteps = WALK_STEPS end
		if nsteps < 4 then return t end
		local span = nsteps * step
		if not plain_range(e, t, t + span, d) then return t end
		tick(e, span // 16)
		local decided = false
		if e.same_bytes then
			local tb, tg = T:raw(t, span)
			local cb, cg = C:raw(t + d, span)
			if tg == span and cg == span and tb == cb then
				t = t + span
				decided = true
			end
		end
		if not decided then
			local q = t + step - 1
			if not checkpoint_samples(T, q, nsteps, step, 0, tc, tv) then return t end
			if not checkpoint_samples(C, q + d, nsteps, step, e.clean_channel, tc, cv) then return t end
			for j = 0, nsteps - 1 do
				local o = j * tc
				for k = o + 1, o + tc do
					local dv = tv[k] - cv[k]
					if not (dv <= tol and dv >= -tol) then return t + j * step end
				end
			end
			t = t + span
		end
	end
end

-- The same, on the grid's compared blocks where there are some (grid_bad): a whole step
-- is passed when its checkpoint is not among the block's differing frames.
local function walk_ahead(e, t, limit)
	local step, d = e.check_step, e.d
	while true do
		local q = t + step - 1
		if q >= limit then return t end
		local i = q // GRID
		local bad = grid_bad(e, i, d)
		-- checkpoints q, q + step, ... before the block's end and the limit
		local q_end = (i + 1) * GRID
		if q_end > limit then q_end = limit end
		if not bad then return walk_ahead_stride(e, t, q_end) end
		local n = (q_end - 1 - q) // step + 1
		tick(e, n)
		for j = 1, #bad do
			local b = bad[j]
			if b >= q and (b - q) % step == 0 and b < q_end then return t + (b - q) end
		end
		t = t + n * step
	end
end

-- ---- the walk ----

local function walk(e, t)
	e.seg_start = t
	while true do
		local limit = e.clean_frames - e.d
		if limit > e.take_frames then limit = e.take_frames end
		-- The next gap on the current offset: the walk stops at its first frame.
		local gi = nil
		if e.n_gaps > 0 and t < limit then
			gi = gap_after(e, t + e.d)
			if gi <= e.n_gaps and e.gaps[gi].frame - e.d < limit then
				limit = e.gaps[gi].frame - e.d > t and e.gaps[gi].frame - e.d or t
			else
				gi = nil
			end
		end
		if t >= limit then
			if not gi then break end
			local go
			t, go = cross_gap(e, t, gi)
			if not go then break end
		else
			if e.opt.progress and t >= e.next_progress then
				e.opt.progress(t, e.take_frames)
				e.next_progress = t + 1048576
			end
			t = walk_ahead(e, t, limit)
			local q = t + e.check_step
			if q > limit then q = limit end
			q = q - 1
			if frame_matches(e, q, q + e.d) then
				t = q + 1
			else
				local f = first_bad(e, t, q, e.d)
				local t2, d2 = reacquire(e, f, e.d)
				if not t2 then
					if gi and limit - f <= WINDOW_MAX_FRAMES then
						-- Too little audio before the gap to prove a shift: replaced up to it.
						local last = limit - 1
						while last > f and frame_matches(e, last, last + e.d) do last = last - 1 end
						add_glitch(e, f, GLITCH_REPLACED, last + 1 - f)
						t = limit
					else
						t = unexplained_tail(e, f)
						break
					end
				else
					if t2 == f and d2 > e.d then
						f = drop_join_back(e, f, d2)
						t2 = f
					end
					local span, lost = 0, 0
					if t2 == f and d2 > e.d then span, lost = reordered_span(e, f, d2) end
					if span > 0 then
						if lost > 0 then
							-- Frames lost right before the swapped runs: a drop, then the swap.
							add_segment(e, e.seg_start, f, e.d)
							add_glitch(e, f, GLITCH_DROPPED, lost)
							e.seg_start = f
							e.d = e.d + lost
						end
						-- The segment goes on with the (old) offset: clean order restored.
						add_glitch(e, f, GLITCH_REORDERED, span)
						t = f + span
					else
						t = record_glitch(e, f, t2, d2)
					end
				end
			end
		end
	end
	add_segment(e, e.seg_start, t, e.d)
end

-- ---- completeness ----

-- Adds the run [run_start, run_last] as a replaced glitch, after the walk's glitches that
-- start before it (walked[gi...]), so the list stays in take order. Returns the new gi.
local function add_verified_run(e, walked, n_walked, gi, run_start, run_last)
	while gi <= n_walked and walked[gi].take_frame < run_start do
		e.res.glitches[#e.res.glitches + 1] = walked[gi]
		gi = gi + 1
	end
	add_glitch(e, run_start, GLITCH_REPLACED, run_last + 1 - run_start)
	return gi
end

-- frame_matches(e, t, t + d) for t rising through a segment, with take and clean read in
-- blocks instead of sample by sample (same values, same result: frames the marker logic
-- concerns, and frames outside either file, go through frame_matches). The C has it as
-- struct segment_matcher + segment_frame_matches; here the matcher is a closure.
local VERIFY_BLOCK = 16384
local function segment_matcher(e, d)
	local tb, cb, b0, bn = nil, nil, 0, 0
	local tc, cc, ch0, tol = e.take_channels, e.clean_channels, e.clean_channel, e.tol
	local n = tc < 64 and tc or 64
	local mt, mc = e.marker_take, e.marker_clean
	return function(t)
		local c = t + d
		if (mt >= 0 and t >= mt and t < mt + MARKER_FRAMES) or (mc >= 0 and c >= mc and c < mc + MARKER_FRAMES)
			or t < 0 or c < 0 or t >= e.take_frames or c >= e.clean_frames then
			return frame_matches(e, t, c)
		end
		if t < b0 or t >= b0 + bn then
			local tg, cg
			tb, tg = e.take:read(t, VERIFY_BLOCK)
			cb, cg = e.clean:read(c, VERIFY_BLOCK)
			b0, bn = t, tg < cg and tg or cg
			tick(e, bn // 2)
			if bn <= 0 then return frame_matches(e, t, c) end
		end
		local i = t - b0
		local tbase, cbase = i * tc + 1, i * cc + ch0 + 1
		for k = 0, n - 1 do
			if not (abs(tb[tbase + k] - cb[cbase + k]) <= tol) then return false end
		end
		return true
	end
end

-- The walk compares one frame in check_step, so a replaced run shorter than that can fall
-- between two checkpoints. This pass compares every take frame inside every segment with
-- its clean frame and reports the differing frames the walk did not as replaced runs
-- (differing frames fewer than check_step apart form one run). Afterwards every segment
-- frame either matches its clean frame or lies in a replaced glitch. The frames between
-- two glitches the walk reported are compared a block at a time (block_bad); blocks that
-- are not plain go frame by frame (segment_matcher), as in the C.
local function verify_segments(e)
	local r = e.res
	local walked = r.glitches
	local n_walked = #walked
	r.glitches = {}
	local gi = 1 -- next walk glitch to copy into the new list
	local ri = 1 -- first walk glitch that may still cover a frame >= t
	local bad = {}
	local check_step = e.check_step
	for si = 1, #r.segments do
		local s = r.segments[si]
		local d = s.clean_start - s.take_start
		local matches = segment_matcher(e, d)
		local run_start, run_last = -1, -1
		local function differs(t)
			if run_start >= 0 and t - run_last > check_step then
				gi = add_verified_run(e, walked, n_walked, gi, run_start, run_last)
				run_start = -1
			end
			if run_start < 0 then run_start = t end
			run_last = t
		end
		local t = s.take_start
		while t < s.take_end do
			while ri <= n_walked and ((walked[ri].kind ~= "replaced" and walked[ri].kind ~= "reordered")
				or walked[ri].take_frame + walked[ri].frames <= t) do
				ri = ri + 1
			end
			if ri <= n_walked and walked[ri].take_frame <= t then
				-- Already reported by the walk.
				if run_start >= 0 then gi = add_verified_run(e, walked, n_walked, gi, run_start, run_last) end
				run_start = -1
				t = walked[ri].take_frame + walked[ri].frames
			else
				-- Up to the next glitch the walk reported (if in this segment): frame by
				-- frame in the C, block by block here.
				local stop = s.take_end
				if ri <= n_walked and walked[ri].take_frame < stop then stop = walked[ri].take_frame end
				while t < stop do
					local i = t // GRID
					local n = (i + 1) * GRID - t
					if n > stop - t then n = stop - t end
					local gbad = grid_bad(e, i, d)
					if gbad then
						-- compared already (the walk, mostly)
						for j = 1, #gbad do
							local b = gbad[j]
							if b >= t and b < t + n then differs(b) end
						end
					else
						local nb = plain_range(e, t, t + n, d) and block_bad(e, t, n, d, bad) or nil
						if nb then
							for j = 1, nb do differs(bad[j]) end
						else
							for tt = t, t + n - 1 do
								if not matches(tt) then differs(tt) end
							end
						end
					end
					t = t + n
				end
			end
		end
		if run_start >= 0 then gi = add_verified_run(e, walked, n_walked, gi, run_start, run_last) end
	end
	while gi <= n_walked do
		r.glitches[#r.glitches + 1] = walked[gi]
		gi = gi + 1
	end
end

-- ---- entry point ----

local function set_marker_symbols(e, take_id, amp)
	e.marker_sym = marker.marker_symbols(take_id, 0)
	e.marker_sign_known = {}
	for i = 0, MARKER_FRAMES - 1 do
		-- Preamble and the 32 take-id bits (64 symbols) do not depend on the channel.
		e.marker_sign_known[i] = i < MARKER_PREAMBLE_FRAMES + 64
	end
	e.marker_amp = amp
end

-- Runs the engine (ghostrec_conform_run). take_info / clean_info from audiofile.open_audio;
-- meta = takemeta.clean_meta(clean_info) (or nil); opt: check_step, max_shift, marker_scan
-- (frames), progress(done, total). Returns the result or nil, one-line reason.
-- result: alignment ("marker"|"content"), take_id (nil when unknown), clean_channel,
-- take_frames, rate, segments, glitches: the report contract.
function M.conform_run(take_info, clean_info, meta, opt)
	opt = opt or {}
	local ti, ci = take_info, clean_info
	local res = { segments = {}, glitches = {}, take_frames = ti.frames, rate = ti.rate, clean_channel = 0 }
	if ti.rate ~= ci.rate then
		return nil, string.format("sample rate mismatch: take %d Hz, clean %d Hz", ti.rate, ci.rate)
	end
	if ti.channels > ci.channels or ti.channels > 64 then
		return nil, string.format("take has %d channels, clean file only %d", ti.channels, ci.channels)
	end

	local e = {}
	local err
	e.take, err = audiofile.reader(ti)
	if not e.take then return nil, err end
	e.clean, err = audiofile.reader(ci)
	if not e.clean then e.take:close(); return nil, err end
	e.take_frames = ti.frames
	e.clean_frames = ci.frames
	e.take_channels = ti.channels
	e.clean_channels = ci.channels
	e.clean_channel = 0
	e.tol = M.conform_tolerance(ti, ci)
	e.marker_take = -1
	e.marker_d_known = false
	e.marker_d = 0
	e.marker_clean = -1
	e.marker_amp = 0
	e.check_step = (opt.check_step and opt.check_step > 0) and opt.check_step or M.CONFORM_CHECK_STEP
	e.max_shift = (opt.max_shift and opt.max_shift > 0) and opt.max_shift or 2 * ti.rate
	e.opt = opt
	e.yield = opt.yield
	e.yield_work = (opt.yield_work and opt.yield_work > 0) and opt.yield_work or YIELD_WORK
	e.work = 0
	e.next_progress = 0
	e.res = res
	-- Block compares (verify_segments): equal raw bytes decide in the same integer format;
	-- 16/24-bit PCM and float32 on both sides with the same channels decode in one go.
	local simple = { f = true, i2 = true, i3 = true }
	e.same_bytes = ti.channels == ci.channels and not ti.float and not ci.float and ti.bits == ci.bits
	e.direct_compare = ti.channels == ci.channels and ti.channels <= 64 and simple[e.take.letter] and simple[e.clean.letter]
	e.fast_compare = ti.channels <= ci.channels and ti.channels <= 64 and simple[e.take.letter] and simple[e.clean.letter]
	e.scratch, e.scratch2 = {}, {}
	e.grid = {} -- grid_bad's compared blocks, by offset and block
	e.gaps = (meta and meta.gaps) or {}
	e.n_gaps = #e.gaps
	local scan = (opt.marker_scan and opt.marker_scan > 0) and opt.marker_scan or 60 * ti.rate

	local function finish(ok_or_nil, why)
		e.take:close()
		e.clean:close()
		if ok_or_nil == nil then return nil, why end
		return ok_or_nil
	end

	local phase = opt.phase or function() end
	phase("marker")
	local m = find_take_marker(e, scan)
	phase("anchor")
	local have_marker = m ~= nil
	if have_marker then
		res.take_id = m.take_id
		e.marker_take = m.frame
		e.marker_amp = m.amplitude
	elseif meta and meta.valid then
		res.take_id = meta.take_id
	end

	-- Which clean channels to compare: all if the counts agree; for a take with fewer
	-- channels, the marker's channel index, else found by content below.
	local channel_known = ti.channels == ci.channels
	if not channel_known and have_marker and m.channel + ti.channels <= ci.channels then
		e.clean_channel = m.channel
		channel_known = true
	end

	local anchor, d = -1, 0
	local meta_usable = meta and meta.valid and meta.marker_frame >= 0 and meta.marker_frame < ci.frames
	if have_marker and meta_usable and meta.take_id == m.take_id and channel_known then
		anchor = e.marker_take
		d = meta.marker_frame - e.marker_take
		e.marker_d_known = true
		e.marker_d = d
		res.alignment = "marker"
	else
		if not have_marker and meta_usable then
			-- The marker was in the take but a glitch destroyed it: recognise what is left
			-- of it where the metadata says it was.
			e.marker_clean = meta.marker_frame
			set_marker_symbols(e, meta.take_id, 0.25)
		end
		local t0 = have_marker and (e.marker_take + MARKER_FRAMES) or 0
		local a, dd = find_anchor(e, t0, e.take_frames, not channel_known)
		if not a and t0 > 0 then a, dd = find_anchor(e, 0, t0, not channel_known) end
		if not a then
			return finish(nil, "no alignment found: the take's audio does not occur in the clean file")
		end
		anchor, d = a, dd
		res.alignment = "content"
	end

	-- Head: a glitch before the anchor (in the pre-roll) stops the backward extension;
	-- then an earlier content anchor, if any, becomes the start of the walk.
	local start = extend_back(e, anchor, d)
	while start > 0 and start - 1 + d >= 0 do
		local a2, d2 = find_anchor(e, 0, start - 1, false)
		if not a2 then break end
		d = d2
		start = extend_back(e, a2, d)
	end

	res.clean_channel = e.clean_channel
	e.d = d
	phase("walk")
	head_gap(e, start, d)
	walk(e, start)
	phase("verify")
	verify_segments(e)
	phase("done")
	return finish(res)
end

-- The report JSON (contract: docs/contracts.md "Conform report"), same layout as ghostrec-sync.
function M.report_json(r)
	local out = {}
	out[#out + 1] = string.format('{"take_id": %s, "clean_channel": %d, "take_frames": %d, "rate": %d, "alignment": "%s",\n',
		r.take_id and string.format("%d", r.take_id) or "null", r.clean_channel, r.take_frames, r.rate, r.alignment)
	out[#out + 1] = ' "segments": ['
	for i, s in ipairs(r.segments) do
		out[#out + 1] = string.format('%s\n  {"take_start": %d, "take_end": %d, "clean_start": %d}', i > 1 and "," or "",
			s.take_start, s.take_end, s.clean_start)
	end
	out[#out + 1] = '],\n "glitches": ['
	for i, g in ipairs(r.glitches) do
		out[#out + 1] = string.format('%s\n  {"take_frame": %d, "kind": "%s", "frames": %d}', i > 1 and "," or "",
			g.take_frame, g.kind, g.frames)
	end
	out[#out + 1] = ']}\n'
	return table.concat(out)
end

-- Parses a report JSON (ghostrec-sync --report) into the same table shape.
function M.parse_report(text)
	local r = { segments = {}, glitches = {} }
	local id = text:match('"take_id"%s*:%s*(%d+)')
	r.take_id = id and tonumber(id) or nil
	r.clean_channel = tonumber(text:match('"clean_channel"%s*:%s*(%-?%d+)'))
	r.take_frames = tonumber(text:match('"take_frames"%s*:%s*(%d+)'))
	r.rate = tonumber(text:match('"rate"%s*:%s*(%d+)'))
	r.alignment = text:match('"alignment"%s*:%s*"(%a+)"')
	for a, b, c in text:gmatch('{%s*"take_start"%s*:%s*(%-?%d+)%s*,%s*"take_end"%s*:%s*(%-?%d+)%s*,%s*"clean_start"%s*:%s*(%-?%d+)%s*}') do
		r.segments[#r.segments + 1] = { take_start = tonumber(a), take_end = tonumber(b), clean_start = tonumber(c) }
	end
	for a, k, n in text:gmatch('{%s*"take_frame"%s*:%s*(%-?%d+)%s*,%s*"kind"%s*:%s*"(%a+)"%s*,%s*"frames"%s*:%s*(%-?%d+)%s*}') do
		r.glitches[#r.glitches + 1] = { take_frame = tonumber(a), kind = k, frames = tonumber(n) }
	end
	return r
end

return M
