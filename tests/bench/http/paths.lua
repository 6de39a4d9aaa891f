-- paths.lua - wrk script: GET the paths of a file (one a line) round
-- robin, each wrk thread starting at its own offset.
-- Usage: wrk -t2 -c64 -d10s -s paths.lua http://HOST:PORT -- PATHFILE
-- The requests are formatted once, in init(), so that the client spends
-- per request no more than a table index and a Lua call.

local threads = 0

function setup(thread)
	thread:set("id", threads)
	threads = threads + 1
end

local reqs = {}
local n, i = 0, 0

function init(args)
	local f = assert(io.open(args[1], "r"), "paths.lua: cannot read " ..
		tostring(args[1]))
	for line in f:lines() do
		if line ~= "" then
			n = n + 1
			reqs[n] = wrk.format("GET", line)
		end
	end
	f:close()
	assert(n > 0, "paths.lua: no path in " .. args[1])
	-- Spread the threads over the list: thread k starts k/8 of the
	-- way in (the bench uses at most a few client threads).
	i = math.floor(n * ((id or 0) % 8) / 8)
end

function request()
	i = i % n + 1
	return reqs[i]
end
