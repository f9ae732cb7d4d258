-- bench/checkout.lua: wrk script for bench/checkout.  Every request is
-- a POST /checkout of the next prepared customer (PX_CUSTOMERS: one
-- line "px_c=TOKEN CSRF" each) with a fresh idempotency token, so no
-- request is a replay.  A run owns PX_COUNT lines from line PX_OFFSET
-- on; thread k of PX_THREADS takes the k-th contiguous share of them.

local threads = {}
local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	local path = os.getenv("PX_CUSTOMERS")
	local offset = tonumber(os.getenv("PX_OFFSET") or "1")
	local nthreads = tonumber(os.getenv("PX_THREADS") or "1")
	local share = math.floor(tonumber(os.getenv("PX_COUNT")) / nthreads)
	local first = offset + id * share
	customers = {}
	local i = 0
	for line in io.lines(path) do
		i = i + 1
		if i >= first and i < first + share then
			local cookie, csrf = line:match("^(%S+) (%S+)$")
			customers[#customers + 1] = { cookie, csrf }
		end
	end
	next_one = 1
	math.randomseed(os.time() * 1000 + id)
end

local hex = "0123456789abcdef"

local function idem()
	local t = {}
	for k = 1, 32 do
		local r = math.random(1, 16)
		t[k] = hex:sub(r, r)
	end
	return table.concat(t)
end

function request()
	local c = customers[next_one]
	if c == nil then
		c = customers[#customers]	-- exhausted: a replay (bench/checkout reports it)
	else
		next_one = next_one + 1
	end
	return wrk.format("POST", "/checkout", {
		["Cookie"] = c[1],
		["Content-Type"] = "application/x-www-form-urlencoded",
	}, "csrf=" .. c[2] .. "&idem=" .. idem())
end
