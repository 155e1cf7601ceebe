-- agent(agent id) -> state, reason, idle_since, holding, missed, wrap_up_until; nil if never set
-- (read as stored: a view decodes nothing it does not give back)
local h = redis.call('HMGET', k_agent(ARGV[3]), 'state', 'reason', 'idle_since', 'holding', 'missed', 'wrap_up_until')
if not h[1] then return false end
local ids = {}
for i, held in ipairs(cjson.decode(h[4])) do ids[i] = held[1] end
return record({ h[1], h[2], h[3], table.concat(ids, '\2'), h[5], h[1] == 'wrap_up' and h[6] or '0' })
