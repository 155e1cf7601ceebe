-- restore_offer(offer id, agent id, expires_at, entry...) -> 1 if the agent holds it again
local offer_id, id, expires_at, e = ARGV[3], ARGV[4], tonumber(ARGV[5]), entry_of(split(ARGV[6]))
if redis.call('EXISTS', k_entry(e.iid)) == 1 then return 0 end
local a = get_agent(id)
if a == nil or a.state ~= 'available' then return 0 end
open_offer(offer_id, e, a, expires_at)
flush()
return 1
