-- transfer(now, entry...) -> 1 if it was assigned, now queued as the entry
local now, e = tonumber(ARGV[3]), entry_of(split(ARGV[4]))
local current = load_entry(e.iid)
if current == nil or current.status ~= 'assigned' then return 0 end
free(get_agent(current.agent), e.iid, now)
place(e, now)
flush()
return 1
