-- cancel(now, interaction id) -> 1 if it was routed
local now, iid = tonumber(ARGV[3]), ARGV[4]
local e = load_entry(iid)
if e == nil then return 0 end
if e.status == 'waiting' then
  remove_waiting(e)
elseif e.status == 'offered' then
  close_offer(get_offer(e.offer))
  free(get_agent(e.agent), iid, now)
else
  free(get_agent(e.agent), iid, now)
end
forget(iid)
flush()
return 1
