-- release(now, interaction id, wrap-up seconds) -> the agent id, or nil if not assigned
local now, iid, wrap_up = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local e = load_entry(iid)
if e == nil or e.status ~= 'assigned' then return false end
local a = get_agent(e.agent)
forget(iid)
if wrap_up > 0 and a.state == 'available' then
  set_state(a, 'wrap_up', '')
  a.wrap_up_until = now + wrap_up
  set_timer(k_wrap_up_timers(), a.wrap_up_until, a.id)
end
free(a, iid, now)
flush()
return a.id
