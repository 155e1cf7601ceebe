-- routed(interaction id, ...) -> those of them routing holds (waiting, offered or assigned)
local held = {}
for i = 3, #ARGV do
  if redis.call('EXISTS', k_entry(ARGV[i])) == 1 then held[#held + 1] = ARGV[i] end
end
return table.concat(held, '\1')
