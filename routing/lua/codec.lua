-- How numbers, entries and ranks are written: as Python reads them back, and as Redis
-- orders them.

-- The caller's EngineConfig, stored under its id (ARGV 2) by routing/redis.py. A script that
-- reads it stops here, before it changes anything, when the server has lost it: the caller
-- stores it again and calls again.
local CONFIG = k_config(ARGV[2])
if redis.call('EXISTS', CONFIG) == 0 then return redis.error_reply('NOCONFIG ' .. CONFIG) end

local CONFIG_PARTS = {}
local function config_part(field)
  -- One part of it (routing/redis_wire.py pack_config), read and decoded when first needed
  -- in a call; nil when there is none of that name.
  local part = CONFIG_PARTS[field]
  if part == nil then
    local json = redis.call('HGET', CONFIG, field)
    part = json and cjson.decode(json) or false
    CONFIG_PARTS[field] = part
  end
  return part or nil
end

local function config()
  return config_part('engine')
end

local function num(x)
  -- %.17g gives the double back exactly; Lua's own tostring (%.14g) would round it.
  return string.format('%.17g', x)
end

local function enc(x)
  -- 8 bytes whose byte order is the numbers' order: members of equal score sort by their
  -- bytes, so a member made of these and an id orders as the tuple would in Python.
  if x == 0 then x = 0 end -- -0 as 0
  local b = { string.byte(struct.pack('>d', x), 1, 8) }
  if x >= 0 then
    b[1] = b[1] + 128
  else
    for i = 1, 8 do b[i] = 255 - b[i] end
  end
  return string.char(unpack(b))
end

local function bytes_lt(a, b)
  -- Byte order, as Python orders str (Lua's own < follows the server's locale).
  if a == b then return false end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function rank_lt(a, b)
  -- Tuples of numbers and strings, compared as Python compares tuples.
  for i = 1, #a do
    local x, y = a[i], b[i]
    if x ~= y then
      if type(x) == 'string' then return bytes_lt(x, y) end
      return x < y
    end
  end
  return false
end

local function split(s)
  local out, start = {}, 1
  while true do
    local i = string.find(s, '\0', start, true)
    if not i then
      out[#out + 1] = string.sub(s, start)
      return out
    end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end

local function hash_of(reply)
  local h = {}
  for i = 1, #reply, 2 do h[reply[i]] = reply[i + 1] end
  return h
end

local function pairs_json(list)
  -- A JSON array of pairs, "[]" when empty (cjson writes an empty table as "{}").
  return #list == 0 and '[]' or cjson.encode(list)
end

local function skills_sig(skills)
  local parts = {}
  for i, s in ipairs(skills) do parts[i] = s[1] .. '=' .. num(s[2]) end
  return table.concat(parts, ',')
end

local function has_skills(mine, required)
  for _, s in ipairs(required) do
    if (mine[s[1]] or 0) < s[2] then return false end
  end
  return true
end

-- An entry travels as 12 strings joined by \0 (routing/redis_wire.py): id, queue, channel, enqueued_at,
-- priority, skills (JSON pairs), answer deadline, preferred agent, preferred until,
-- escalations done, breached, escalation base; "" for None.
local function entry_of(w)
  return {
    iid = w[1], queue = w[2], channel = w[3], enqueued_at = tonumber(w[4]), priority = tonumber(w[5]),
    skills = cjson.decode(w[6]), deadline = w[7] ~= '' and tonumber(w[7]) or nil,
    preferred = w[8] ~= '' and w[8] or nil, preferred_until = tonumber(w[9]), done = tonumber(w[10]),
    breached = w[11] == '1', base = w[12] ~= '' and tonumber(w[12]) or nil,
  }
end

local function wire_of(e)
  return {
    e.iid, e.queue, e.channel, num(e.enqueued_at), num(e.priority), pairs_json(e.skills),
    e.deadline and num(e.deadline) or '', e.preferred or '', num(e.preferred_until), num(e.done),
    e.breached and '1' or '0', e.base and num(e.base) or '',
  }
end

-- Replies are one string, which the client reads in one piece: records joined by \1, each
-- record's fields by \0 (a list inside one field by \2).
local function record(fields)
  return table.concat(fields, '\0')
end

local function records(list)
  local out = {}
  for i, fields in ipairs(list) do out[i] = record(fields) end
  return table.concat(out, '\1')
end

local function data_of(e)
  -- The entry's wire as one string, as its hash keeps it: read from there, or made once.
  if e.data == nil then e.data = record(wire_of(e)) end
  return e.data
end

local function order_member(e)
  -- (-priority, enqueued_at, id): QueueEntry.order_key; read from its hash, or made once.
  if e.order == nil then e.order = enc(-e.priority) .. enc(e.enqueued_at) .. e.iid end
  return e.order
end

local function copy_entry(e)
  -- A copy to change: without the strings made of the fields it will change.
  local c = {}
  for k, v in pairs(e) do c[k] = v end
  c.data, c.order = nil, nil
  return c
end

local function set_timer(key, at, subject)
  -- A timer is (time, subject), as the in-memory engine's (routing/timers.py): never
  -- cancelled, checked as it fires; the same one set again is one.
  redis.call('ZADD', key, at, subject .. '\0' .. num(at))
end

local function subject_of(timer)
  return string.sub(timer, 1, string.find(timer, '\0', 1, true) - 1)
end

local function id_of_order_member(member)
  return string.sub(member, 17)
end

local function append(list, more)
  for _, v in ipairs(more) do list[#list + 1] = v end
  return list
end
