-- restore_assigned(agent id, entry...): an assignment storage holds, counted again
local id, e = ARGV[3], entry_of(split(ARGV[4]))
local a = get_agent(id) or new_agent(id, config().default_profile, e.enqueued_at)
hold(a, e.iid, e.channel)
e.status, e.agent = 'assigned', id
save_entry(e)
flush()
return 1
