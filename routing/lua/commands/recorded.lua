-- recorded(claim): the events a tick kept under it are recorded: no longer kept
redis.call('HDEL', k_fired(), ARGV[3])
redis.call('ZREM', k_fired_at(), ARGV[3])
return 1
