-- bench/webhooks.lua: wrk script for bench/webhooks.  Every request is
-- a POST /webhooks/stripe of the next prepared delivery (PX_EVENTS: one
-- line "STRIPE-SIGNATURE<TAB>BODY" each, the body a checkout.session.
-- completed event of its own payment, signed a moment before the run),
-- so none is a replay.  A run owns PX_COUNT lines from line PX_OFFSET on;
-- thread k of PX_THREADS takes the k-th contiguous share of them.

local counter = 0

function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end

function init(args)
	local path = os.getenv("PX_EVENTS")
	local offset = tonumber(os.getenv("PX_OFFSET") or "1")
	local nthreads = tonumber(os.getenv("PX_THREADS") or "1")
	local share = math.floor(tonumber(os.getenv("PX_COUNT")) / nthreads)
	local first = offset + id * share
	events = {}
	local i = 0
	for line in io.lines(path) do
		i = i + 1
		if i >= first and i < first + share then
			local sig, body = line:match("^([^\t]+)\t(.*)$")
			-- The bodies are stored with \n escaped as \\n (one line
			-- each); the wire gets Stripe's pretty-printed bytes back.
			events[#events + 1] = { sig, (body:gsub("\\n", "\n")) }
		elseif i >= first + share then
			break
		end
	end
	next_one = 1
end

function request()
	local e = events[next_one]
	if e == nil then
		e = events[#events]	-- exhausted: a replay (bench/webhooks reports it)
	else
		next_one = next_one + 1
	end
	return wrk.format("POST", "/webhooks/stripe", {
		["Stripe-Signature"] = e[1],
		["Content-Type"] = "application/json; charset=utf-8",
		["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
	}, e[2])
end
