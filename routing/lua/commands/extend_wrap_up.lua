-- extend_wrap_up(now, agent id, seconds) -> when the wrap-up now ends, or nil
local now, id, seconds = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local a = get_agent(id)
if a == nil or a.state ~= 'wrap_up' then return false end
a.wrap_up_until = math.max(a.wrap_up_until, now) + seconds
set_timer(k_wrap_up_timers(), a.wrap_up_until, id)
mark(a)
flush()
return num(a.wrap_up_until)
