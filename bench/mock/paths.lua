-- Cycles through the 20 interactions of the benchmark pact, one path per request.
local n = 0
request = function()
  n = n % 20 + 1
  return wrk.format("GET", "/resources/" .. n, { ["Accept"] = "application/json" })
end
