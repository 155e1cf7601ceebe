-- occupancy() -> agent id, occupancy, ... for every signed-in agent (a view over all agents)
local reply = {}
for _, id in ipairs(redis.call('ZRANGE', k_agents(), 0, -1)) do
  local a = get_agent(id)
  if a.state ~= 'offline' then reply[#reply + 1] = { id, num(occupancy(a)) } end
end
return records(reply)
