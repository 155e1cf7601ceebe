-- reject(now, offer id, agent id) -> the offer, or nil if not open for the agent
local now, offer_id, agent_id = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local o = get_offer(offer_id)
if o == nil or o.agent ~= agent_id then return false end
redis.call('SADD', k_declined(o.iid), agent_id)
local a = get_agent(agent_id)
a.missed = 0
mark(a)
local wire = return_offer(o, now)
flush()
return record(wire)
