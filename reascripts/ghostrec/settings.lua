-- @noindex
-- ghostrec settings, kept in REAPER's ExtState (section "ghostrec", persisted).
local settings = {}

settings.SECTION = "ghostrec"
settings.DEFAULTS = {
	inbox = "",            -- folder the exporter delivers clean takes to (mapped share)
	join = "crossfade",    -- "cut" | "crossfade" at dropped/inserted joins
	xfade_ms = 5,          -- crossfade length at joins
	markers = true,        -- add a project marker at every glitch
	search_recent = 20,    -- clean files tried by content when a take has no marker
}

local function parse_bool(s, default)
	if s == "1" or s == "true" or s == "yes" or s == "on" then return true end
	if s == "0" or s == "false" or s == "no" or s == "off" then return false end
	return default
end

function settings.load()
	local r = reaper
	local s = {}
	for k, v in pairs(settings.DEFAULTS) do s[k] = v end
	local inbox = r.GetExtState(settings.SECTION, "inbox")
	if inbox ~= "" then s.inbox = inbox end
	local join = r.GetExtState(settings.SECTION, "join")
	if join == "cut" or join == "crossfade" then s.join = join end
	local x = tonumber(r.GetExtState(settings.SECTION, "xfade_ms"))
	if x and x >= 0 and x <= 1000 then s.xfade_ms = x end
	s.markers = parse_bool(r.GetExtState(settings.SECTION, "markers"), s.markers)
	local n = tonumber(r.GetExtState(settings.SECTION, "search_recent"))
	if n and n >= 0 then s.search_recent = math.floor(n) end
	return s
end

-- Validates user text; returns a settings table or nil, message.
function settings.parse(inbox, join, xfade_ms, markers)
	local s = {}
	inbox = (inbox or ""):gsub("^%s+", ""):gsub("%s+$", "")
	s.inbox = inbox
	join = (join or ""):lower():gsub("%s", "")
	if join ~= "cut" and join ~= "crossfade" then return nil, "join policy must be 'cut' or 'crossfade', not '" .. join .. "'" end
	s.join = join
	local x = tonumber(xfade_ms)
	if not x or x < 0 or x > 1000 then return nil, "crossfade length must be a number of milliseconds (0-1000)" end
	s.xfade_ms = x
	local m = parse_bool((markers or ""):lower():gsub("%s", ""), nil)
	if m == nil then return nil, "glitch markers must be 'on' or 'off'" end
	s.markers = m
	return s
end

function settings.save(s)
	local r = reaper
	r.SetExtState(settings.SECTION, "inbox", s.inbox, true)
	r.SetExtState(settings.SECTION, "join", s.join, true)
	r.SetExtState(settings.SECTION, "xfade_ms", tostring(s.xfade_ms), true)
	r.SetExtState(settings.SECTION, "markers", s.markers and "1" or "0", true)
end

return settings
