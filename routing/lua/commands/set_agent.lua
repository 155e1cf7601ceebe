-- set_agent(now, agent id, profile JSON, state, reason) -> the offers revoked
local now, id, profile_json, state, reason = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local a = get_agent(id)
if a == nil then
  a = new_agent(id, profile_json, now)
else
  set_profile(a, profile_json)
end
local revoked = {}
if state ~= 'available' then
  return_open_offers(a, now, revoked)
elseif a.state ~= 'available' then
  a.missed = 0
  if #a.holding == 0 then a.idle_since = now end
end
set_state(a, state, reason)
touch(a)
flush()
return records(revoked)
