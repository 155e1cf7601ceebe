-- open_offers(agent id) -> the agent's open offers, in the order it came to hold them
local id = ARGV[3]
local holding = redis.call('HGET', k_agent(id), 'holding')
local wires = {}
for _, held in ipairs(holding and cjson.decode(holding) or {}) do
  local e = redis.call('HMGET', k_entry(held[1]), 'status', 'offer', 'data')
  if e[1] == 'offered' then
    wires[#wires + 1] = record({ e[2], id, redis.call('HGET', k_offer(e[2]), 'expires_at'), e[3] })
  end
end
return table.concat(wires, '\1')
