-- Small assertion helpers and a private scratch directory per run.
local T = {}

local tmp = os.getenv("GHOSTREC_TMP")
local own_tmp = false
local function scratch()
	if not tmp then
		local p = assert(io.popen("mktemp -d 2>/dev/null"))
		tmp = p:read("l")
		p:close()
		assert(tmp and tmp ~= "", "mktemp -d failed")
		own_tmp = true
	end
	return tmp
end

local counter = 0
-- A fresh empty directory for one test.
function T.dir(name)
	counter = counter + 1
	local d = string.format("%s/%02d-%s", scratch(), counter, (name or "t"):gsub("[^%w]", "_"))
	assert(os.execute('mkdir -p "' .. d .. '"'))
	return d
end

function T.begin(name) T.current = name end

-- Ends the current test as skipped (the runner reports it; meson sees exit code 77 when
-- every test of a run was skipped).
T.SKIP = {}
function T.skip(reason)
	error(setmetatable({ reason = reason }, T.SKIP), 0)
end

function T.cleanup()
	if own_tmp and tmp and os.getenv("GHOSTREC_KEEP_TMP") == nil then
		os.execute('rm -rf "' .. tmp .. '"')
	end
end

function T.eq(a, b, what)
	if a ~= b then
		error(string.format("%s: expected %s, got %s", what or "value", tostring(b), tostring(a)), 2)
	end
end

function T.ok(v, what)
	if not v then error((what or "assertion") .. " failed", 2) end
	return v
end

function T.near(a, b, eps, what)
	if math.abs(a - b) > eps then
		error(string.format("%s: expected %.9g +- %g, got %.9g", what or "value", b, eps, a), 2)
	end
end

function T.contains(hay, needle, what)
	if not tostring(hay):find(needle, 1, true) then
		error(string.format("%s: %q does not contain %q", what or "text", tostring(hay), needle), 2)
	end
end

function T.read_file(path)
	local f = assert(io.open(path, "rb"))
	local s = f:read("a")
	f:close()
	return s
end

-- Lists of {take_frame, kind, frames} compared exactly.
function T.same_glitches(got, want, what)
	local function fmt(list)
		local t = {}
		for _, g in ipairs(list) do t[#t + 1] = string.format("%d:%s:%d", g.take_frame, g.kind, g.frames) end
		return table.concat(t, " ")
	end
	T.eq(fmt(got), fmt(want), (what or "glitches"))
end

function T.same_segments(got, want, what)
	local function fmt(list)
		local t = {}
		for _, s in ipairs(list) do t[#t + 1] = string.format("[%d,%d)->%d", s.take_start, s.take_end, s.clean_start) end
		return table.concat(t, " ")
	end
	T.eq(fmt(got), fmt(want), (what or "segments"))
end

return T
