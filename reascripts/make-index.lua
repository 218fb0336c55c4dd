-- @noindex
-- The release step for ReaPack: writes the repository index (index.xml, ReaPack index
-- format v1) from the script headers (@description, @version, @author, @about, @provides).
--   lua5.4 reascripts/make-index.lua REPOSITORY_URL REF > index.xml
-- REPOSITORY_URL: the repository's public web address (https://github.com/OWNER/NAME or
-- https://gitlab.com/OWNER/NAME; any other address is taken as the URL the reascripts/
-- folder is served from). REF: the tag or commit the file URLs point at (a release tag, so
-- the index keeps pointing at the files it was made from). See reascripts/README.md.
local repo, ref = arg[1], arg[2]
if not repo or not ref or repo == "" or ref == "" then
	io.stderr:write("usage: lua make-index.lua REPOSITORY_URL REF > index.xml\n")
	os.exit(2)
end
if repo:find("OWNER", 1, true) or repo:find("[<>{}%s]") then
	io.stderr:write("make-index.lua: " .. repo .. " is not a public repository URL\n")
	os.exit(2)
end
local dir = (arg[0]:match("^(.*[/\\])") or "./")
local MAIN = "ghostrec_Replace selected takes with clean recordings.lua"

repo = repo:gsub("%.git$", ""):gsub("/+$", "")
local base
local gh = repo:match("^https://github%.com/([^/]+/[^/]+)$")
local gl = repo:match("^https://gitlab%.com/(.+)$")
if gh then
	base = "https://raw.githubusercontent.com/" .. gh .. "/" .. ref .. "/reascripts"
elseif gl then
	base = "https://gitlab.com/" .. gl .. "/-/raw/" .. ref .. "/reascripts"
else
	base = repo
end

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

-- ReaPack shows About text as RTF: headings bold, paragraphs, `code` as is.
local function rtf(lines)
	local function esc(s)
		s = s:gsub("\\", "\\\\"):gsub("{", "\\{"):gsub("}", "\\}")
		return (s:gsub("[\xC2-\xF4][\x80-\xBF]*", function(c)
			local cp = utf8.codepoint(c)
			return string.format("\\u%d?", cp < 32768 and cp or cp - 65536)
		end))
	end
	local out = { "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}\\f0\\fs20" }
	local para = {}
	local function flush()
		if #para > 0 then out[#out + 1] = "\\pard " .. esc(table.concat(para, " ")) .. "\\par"; para = {} end
	end
	for _, l in ipairs(lines) do
		local h = l:match("^#+%s*(.+)$")
		if h then
			flush()
			out[#out + 1] = "\\pard{\\b\\fs24 " .. esc(h) .. "}\\par"
		elseif l:match("^%s*$") then
			flush()
		else
			para[#para + 1] = (l:gsub("^%s+", ""))
		end
	end
	flush()
	out[#out + 1] = "}"
	return table.concat(out, "\n")
end

local function url(file) return base .. "/" .. file:gsub(" ", "%%20") end
local function xml(s) return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;")) end

local h = header(MAIN)
for _, tag in ipairs({ "description", "version", "author" }) do
	if not h[tag] or h[tag] == "" then error(MAIN .. ": no @" .. tag .. " header") end
end
local out = {}
out[#out + 1] = '<?xml version="1.0" encoding="utf-8"?>'
out[#out + 1] = '<index version="1" name="pw-ghost-rec">'
out[#out + 1] = '  <category name="Recording">'
out[#out + 1] = string.format('    <reapack name="%s" type="script" desc="%s">', xml(MAIN), xml(h.description))
out[#out + 1] = '      <metadata>'
out[#out + 1] = '        <description><![CDATA[' .. rtf(h.about) .. ']]></description>'
out[#out + 1] = '        <link rel="website">' .. xml(repo) .. '</link>'
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
