-- accept(now, offer id, agent id) -> the offer, or nil if not open (or expired) for the agent
local now, offer_id, agent_id = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local o = get_offer(offer_id)
-- An expired offer is left for the next tick to lapse (and report, and count as missed).
if o == nil or o.agent ~= agent_id or now >= o.expires_at then return false end
close_offer(o)
local e = load_entry(o.iid)
e.status, e.offer = 'assigned', nil
save_entry(e)
redis.call('DEL', k_declined(o.iid))
local a = get_agent(agent_id)
a.missed = 0
mark(a)
flush()
return record(offer_wire(offer_id, agent_id, o.expires_at, e))
