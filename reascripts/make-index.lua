-- @noindex
-- Regenerates index.xml (the ReaPack repository index) from the script headers.
-- Usage: lua5.4 make-index.lua BASE_URL > index.xml
--   BASE_URL: where this reascripts/ folder is served from, e.g.
--   https://raw.githubusercontent.com/<owner>/pw-ghost-rec/main/reascripts
local base = arg[1] or error("usage: lua make-index.lua BASE_URL")
local dir = (arg[0]:match("^(.*[/\\])") or "./")
local MAIN = "ghostrec_Replace selected takes with clean recordings.lua"

local function header(path)
	local f = assert(io.open(dir .. path, "rb"))
	local h = { provides = {}, about = {} }
	local in_provides, in_about = false, false
	for line in f:lines() do
		if not line:match("^%-%-") then break end
		local tag, val = line:match("^%-%- @(%w+)%s*(.*)$")
		if tag then
			in_provides, in_about = tag == "provides", tag == "about"
			if not in_provides and not in_about then h[tag] = val end
		elseif in_provides then
			local kind, file = line:match("^%-%-%s+%[(%w+)%]%s+(.+)$")
			if kind then h.provides[#h.provides + 1] = { kind = kind, file = file } end
		elseif in_about then
			h.about[#h.about + 1] = (line:gsub("^%-%-%s?%s?%s?", ""))
		end
	end
	f:close()
	return h
end

local function url(file) return base .. "/" .. file:gsub(" ", "%%20") end
local function xml(s) return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;")) end

local h = header(MAIN)
local out = {}
out[#out + 1] = '<?xml version="1.0" encoding="utf-8"?>'
out[#out + 1] = '<index version="1" name="pw-ghost-rec">'
out[#out + 1] = '  <category name="Recording">'
out[#out + 1] = string.format('    <reapack name="%s" type="script" desc="%s">', xml(MAIN), xml(h.description))
out[#out + 1] = '      <metadata>'
out[#out + 1] = '        <description><![CDATA[' .. table.concat(h.about, "\n") .. ']]></description>'
out[#out + 1] = '      </metadata>'
out[#out + 1] = string.format('      <version name="%s" author="%s" time="%s">', xml(h.version), xml(h.author),
	os.getenv("GHOSTREC_INDEX_TIME") or os.date("!%Y-%m-%dT%H:%M:%SZ"))
out[#out + 1] = string.format('        <source main="main">%s</source>', xml(url(MAIN)))
for _, p in ipairs(h.provides) do
	if p.kind == "main" then
		out[#out + 1] = string.format('        <source main="main" file="%s">%s</source>', xml(p.file), xml(url(p.file)))
	else
		out[#out + 1] = string.format('        <source file="%s">%s</source>', xml(p.file), xml(url(p.file)))
	end
end
out[#out + 1] = '      </version>'
out[#out + 1] = '    </reapack>'
out[#out + 1] = '  </category>'
out[#out + 1] = '</index>'
io.write(table.concat(out, "\n"), "\n")
