-- Test runner for the ReaScript suite: lua5.4 tests/lua/run.lua [test_file.lua ...]
-- Environment: GHOSTREC_SRC (source root), GHOSTREC_BUILD (build root, for C tools),
-- GHOSTREC_TMP (scratch directory; created with mktemp -d when unset).
local src = os.getenv("GHOSTREC_SRC") or "."
package.path = table.concat({ src .. "/reascripts/?.lua", src .. "/tests/lua/?.lua", src .. "/tests/lua/lib/?.lua",
	package.path }, ";")

local T = require("testlib")
local files = { ... }
if #files == 0 then files = { "test_core.lua", "test_actions.lua" } end
local failed, passed, skipped = 0, 0, 0
for _, f in ipairs(files) do
	local path = f:find("/") and f or (src .. "/tests/lua/" .. f)
	local cases = dofile(path)
	for _, case in ipairs(cases) do
		local name, fn = case[1], case[2]
		T.begin(name)
		local t0 = os.clock()
		local ok, err = xpcall(fn, function(e)
			if getmetatable(e) == T.SKIP then return e end
			return debug.traceback(e)
		end)
		-- REAPER's state after the test: no undo block or PreventUIRefresh left open.
		local mock = package.loaded["reaper_mock"]
		if mock then
			local ok2, err2 = pcall(mock.check_all)
			if ok and not ok2 then ok, err = false, err2 end
		end
		if not ok and getmetatable(err) == T.SKIP then
			skipped = skipped + 1
			print(string.format("skip %-60s %s", name, err.reason))
		elseif ok then
			passed = passed + 1
			print(string.format("ok   %-60s %.2fs", name, os.clock() - t0))
		else
			failed = failed + 1
			print(string.format("FAIL %s\n%s", name, tostring(err)))
		end
	end
end
T.cleanup()
print(string.format("%d passed, %d failed, %d skipped (%s)", passed, failed, skipped, _VERSION))
if failed == 0 and passed == 0 and skipped > 0 then os.exit(77) end
os.exit(failed == 0 and 0 or 1)
