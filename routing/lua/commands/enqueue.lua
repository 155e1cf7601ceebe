-- enqueue(now, entry...) -> added | duplicate | over_capacity | refused
local now, e = tonumber(ARGV[3]), entry_of(split(ARGV[4]))
if redis.call('EXISTS', k_entry(e.iid)) == 1 then return 'duplicate' end
local limit = policy(e.queue).max_size
local full = limit ~= nil and tonumber(redis.call('HGET', k_sizes(), e.queue) or 0) >= limit
if full then
  for _, channel in ipairs(config().refuse_when_full) do
    if channel == e.channel then return 'refused' end
  end
end
place(e, now)
flush()
return full and 'over_capacity' or 'added'
