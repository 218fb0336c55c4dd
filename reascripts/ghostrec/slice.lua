-- @noindex
-- ghostrec slices: a ReaScript runs on REAPER's UI thread, so long work runs in a coroutine
-- resumed once per defer cycle and yields whenever its slice has used SLICE_SECONDS. Also
-- the console, the busy lock shared by every ghostrec script instance, and how an action
-- starts (set_action_options) and reports errors.
local M = {}

M.SLICE_SECONDS = 0.030 -- work per UI cycle; REAPER looks frozen from ~0.1 s
M.LOCK_STALE_SECONDS = 30 -- a lock nobody refreshed for this long is left over from a crash
M.SECTION = "ghostrec"

local slice_start = nil
local aborts = {}      -- cleanup to run if the instance is ended mid-work (name -> fn)
local lock_token = nil -- this instance's lock, when held

-- Console: every line goes to the ReaScript console; `quiet` adds it without opening the
-- console window (REAPER's "!SHOW:" prefix), for automatic runs.
function M.msg(s, quiet)
	reaper.ShowConsoleMsg((quiet and "!SHOW:" or "") .. "ghostrec: " .. s .. "\n")
end

local function heartbeat()
	if lock_token then
		reaper.SetExtState(M.SECTION, "busy", lock_token .. "|" .. string.format("%.3f", reaper.time_precise()), false)
	end
end

-- Called often during long work: yields to REAPER once this slice has used its time.
function M.maybe_yield()
	if not coroutine.isyieldable() then return end
	local now = reaper.time_precise()
	if not slice_start then slice_start = now end
	if now - slice_start >= M.SLICE_SECONDS then
		coroutine.yield()
		slice_start = reaper.time_precise()
		heartbeat()
	end
end
-- Progress callback for the conform engine and the marker scan.
function M.progress() M.maybe_yield() end

-- Yields unconditionally (waiting for something).
function M.wait()
	if coroutine.isyieldable() then
		coroutine.yield()
		slice_start = reaper.time_precise()
		heartbeat()
	end
end

function M.on_abort(name, fn) aborts[name] = fn end

-- The busy lock: one ghostrec script instance at a time analyses or changes the project
-- (the watcher, the OSC-triggered action and the user's action may all be running).
-- Waits (yielding) while another instance holds it. Returns true, or false if it could not
-- be had without waiting and `nowait` is set.
function M.acquire(nowait)
	if lock_token then return true end
	local mine = string.format("%d-%.6f", math.random(1, 1 << 30), reaper.time_precise())
	while true do
		local v = reaper.GetExtState(M.SECTION, "busy")
		local owner, t = v:match("^([^|]*)|([%d%.]+)$")
		if v == "" or not owner or reaper.time_precise() - tonumber(t) > M.LOCK_STALE_SECONDS then
			lock_token = mine
			heartbeat()
			return true
		end
		if nowait or not coroutine.isyieldable() then return false end
		M.wait()
	end
end

function M.release()
	if lock_token then
		local v = reaper.GetExtState(M.SECTION, "busy")
		if v:sub(1, #lock_token + 1) == lock_token .. "|" then reaper.DeleteExtState(M.SECTION, "busy", false) end
		lock_token = nil
	end
end

local function cleanup()
	for name, fn in pairs(aborts) do
		aborts[name] = nil
		pcall(fn)
	end
	M.release()
end

-- A one-line message for an error (no "file:line:" prefix).
function M.error_text(err)
	local s = tostring(err):match("^[^\n]*")
	return (s:gsub("^[^:]*%.lua:%d+: ", ""))
end

-- Starts an action: REAPER 7.03+ ends a running instance when the action is triggered again
-- and starts it anew (`relaunch`), or just ends it (a toggle), instead of asking in a modal
-- dialog; `toggle` also sets the action's toggle state. Then runs fn as a coroutine, one
-- slice per defer cycle. Errors end up as one console line; the lock is released and any
-- half-copied file removed, also when REAPER ends the instance.
function M.start(name, fn, opts)
	opts = opts or {}
	if reaper.set_action_options then
		local flags = 1
		if opts.relaunch then flags = flags | 2 end
		if opts.toggle then flags = flags | 4 end
		reaper.set_action_options(flags)
	end
	reaper.atexit(function()
		cleanup()
		if opts.on_exit then opts.on_exit() end
	end)
	local co = coroutine.create(function() return fn() end)
	local function step()
		slice_start = reaper.time_precise()
		local ok, err = coroutine.resume(co)
		if not ok then
			cleanup()
			M.msg(name .. " stopped: " .. M.error_text(err), opts.quiet)
		elseif coroutine.status(co) ~= "dead" then
			reaper.defer(step)
			return
		else
			M.release()
		end
		-- A script that ends without deferring gets an automatic "ReaScript: Run" undo point
		-- from REAPER; an empty deferred call avoids it (the replacement has its own).
		reaper.defer(function() end)
	end
	step()
end

return M
