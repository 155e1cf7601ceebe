-- unrecorded(now, before, limit) -> claim, its events, ... for up to limit claims kept since
-- before `before`, each taken over (kept as made now: no other instance takes it up meanwhile)
local now, before, limit = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local out = {}
for _, claim in ipairs(redis.call('ZRANGEBYSCORE', k_fired_at(), '-inf', '(' .. before, 'LIMIT', 0, limit)) do
  redis.call('ZADD', k_fired_at(), now, claim)
  out[#out + 1] = claim
  out[#out + 1] = redis.call('HGET', k_fired(), claim)
end
return out
