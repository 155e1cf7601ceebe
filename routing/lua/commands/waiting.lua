-- waiting(queue) -> the queue's waiting entries, best first (a view: it reads the whole queue)
local queue = ARGV[3]
local found = {}
local function add(iid)
  local entry = redis.call('HMGET', k_entry(iid), 'order', 'data')
  found[#found + 1] = { key = entry[1], data = entry[2] }
end
for _, bucket in ipairs(redis.call('HKEYS', k_buckets(queue))) do
  for _, iid in ipairs(redis.call('ZRANGE', k_bucket(queue, bucket), 0, -1)) do add(iid) end
end
for _, iid in ipairs(redis.call('SMEMBERS', k_reserved_in(queue))) do add(iid) end
table.sort(found, function(x, y) return bytes_lt(x.key, y.key) end)
local wires = {}
for i, item in ipairs(found) do wires[i] = item.data end
return table.concat(wires, '\1')
